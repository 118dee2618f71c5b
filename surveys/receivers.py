from django.db import transaction

from . import tasks


def schedule_invitation(sender, *, visit_id: int, source: str, **kwargs) -> None:
    """On "visit delivered" (sent after commit): enqueue the task that schedules the survey."""
    transaction.on_commit(lambda: tasks.create_invitation.delay(visit_id))
