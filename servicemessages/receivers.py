"""The visit events → service messages. "Checked in", "ready" and "delivered" arrive after
commit with the visit's id: a Celery task queues the message (the sweep makes it if the
broker loses the task). "Promise revised" carries the revision itself: its message is
queued at once, in the revising transaction when there is one."""

from shopcrm.celery import enqueue_on_commit

from . import services
from .models import Event

TASK = "servicemessages.tasks.create_service_message"


def on_checked_in(sender, *, visit_id: int, **kwargs) -> None:
    enqueue_on_commit(TASK, Event.CHECKED_IN.value, visit_id)


def on_ready(sender, *, visit_id: int, **kwargs) -> None:
    enqueue_on_commit(TASK, Event.READY.value, visit_id)


def on_delivered(sender, *, visit_id: int, **kwargs) -> None:
    enqueue_on_commit(TASK, Event.DELIVERED.value, visit_id)


def on_extra_work_requested(sender, *, item, **kwargs) -> None:
    """After commit, with the item: its message at once (the sweep makes it otherwise)."""
    services.service_message_create(
        event=Event.EXTRA_WORK, visit_id=item.visit_id, round_=item.pk, item=item
    )


def on_promise_revised(sender, *, visit, revision, **kwargs) -> None:
    services.service_message_create(
        event=Event.PROMISE_REVISED,
        visit_id=visit.pk,
        round_=services.revision_round(revision),
        revision=revision,
    )
