from django.db import transaction

from . import tasks


def schedule_post_service_call(sender, *, visit_id: int, source: str, **kwargs) -> None:
    """On "visit delivered" (sent after commit): enqueue the task that creates the call."""
    transaction.on_commit(lambda: tasks.create_post_service_task.delay(visit_id))
