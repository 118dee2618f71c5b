"""The visit events: "visit delivered" (the hook follow-up and survey scheduling attach
to), "checked in" and "ready for collection" (service messages attach to these), and
"promise revised".

The event is sent only after the delivering transaction commits, with the visit's id
(never the instance), so a receiver that enqueues a Celery task sees committed data.
Receivers: ``visit_delivered.connect(handler)``; a handler gets ``visit_id`` and
``source`` ("browser" or "dms") and must be safe to run twice.
"""

import logging

from django.db import transaction
from django.dispatch import Signal

from .models import Visit

logger = logging.getLogger("shopcrm.events")

visit_delivered = Signal()
# Extra work (visits.workitems), sent once the write committed, with ``item`` (a WorkItem):
# put to the customer, and answered by the customer (on the status page or by phone).
extra_work_requested = Signal()
extra_work_answered = Signal()
# Sent after commit like "visit delivered", with ``visit_id`` and ``source``.
visit_checked_in = Signal()
visit_ready = Signal()
# "Promise revised": sent after the revising transaction commits, with sender=Visit and the
# visit and its PromiseRevision (``visit=…, revision=…``); the customer's "promise revised"
# message hooks here. Receivers must be safe to run twice.
promise_revised = Signal()
# "Appointments missed": booked appointments that became no-shows, sent after the marking
# transaction commits with ``appointment_ids`` (a list). Receivers must be safe to run twice.
appointments_missed = Signal()


def emit_visit_delivered(*, visit_id: int, source: str) -> None:
    transaction.on_commit(
        lambda: visit_delivered.send(sender="visits", visit_id=visit_id, source=source),
        robust=True,  # the write has committed: a receiver's failure is logged, never a 500
    )


def emit_visit_checked_in(*, visit_id: int, source: str) -> None:
    transaction.on_commit(
        lambda: visit_checked_in.send(sender="visits", visit_id=visit_id, source=source),
        robust=True,
    )


def emit_visit_ready(*, visit_id: int, source: str) -> None:
    transaction.on_commit(
        lambda: visit_ready.send(sender="visits", visit_id=visit_id, source=source),
        robust=True,
    )


def log_visit_delivered(sender, *, visit_id: int, source: str, **kwargs) -> None:
    logger.info("visit delivered: visit_id=%s source=%s", visit_id, source)


def emit_promise_revised(*, visit, revision) -> None:
    transaction.on_commit(
        lambda: promise_revised.send(sender=Visit, visit=visit, revision=revision),
        robust=True,  # the revision has committed: a receiver's failure is logged
    )


def emit_appointments_missed(*, appointment_ids: list[int]) -> None:
    transaction.on_commit(
        lambda: appointments_missed.send(sender="visits", appointment_ids=list(appointment_ids)),
        robust=True,  # the no-shows have committed: a receiver's failure is logged
    )
