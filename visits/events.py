"""The "visit delivered" event: the hook follow-up and survey scheduling attach to.

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

# "Promise revised": sent after the revising transaction commits, with sender=Visit and the
# visit and its PromiseRevision (``visit=…, revision=…``); the customer's "promise revised"
# message hooks here. Receivers must be safe to run twice.
promise_revised = Signal()


def emit_visit_delivered(*, visit_id: int, source: str) -> None:
    transaction.on_commit(
        lambda: visit_delivered.send(sender="visits", visit_id=visit_id, source=source),
        robust=True,  # the write has committed: a receiver's failure is logged, never a 500
    )


def log_visit_delivered(sender, *, visit_id: int, source: str, **kwargs) -> None:
    logger.info("visit delivered: visit_id=%s source=%s", visit_id, source)


def emit_promise_revised(*, visit, revision) -> None:
    transaction.on_commit(
        lambda: promise_revised.send(sender=Visit, visit=visit, revision=revision),
        robust=True,  # the revision has committed: a receiver's failure is logged
    )
