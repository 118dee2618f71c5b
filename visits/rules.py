"""Rules about visits, with no database: the workshop's state machine, the desk's suggested
promise, and what reports and sweeps share (METRICS.md, DESIGN.md "visits").

A comeback: a repair or warranty visit of the same vehicle checked in within 30 days after
a delivered repair or warranty visit (the fixed-first-visit rate counts the repairs not
followed by one)."""

from datetime import datetime, timedelta

from django.db.models import F, Q
from django.utils import timezone

from .models import ServiceType, Visit

S = Visit.Status

REPAIR_TYPES = (ServiceType.REPAIR, ServiceType.WARRANTY)
COMEBACK_WINDOW = timedelta(days=30)


# The workshop state machine: from each status, where a visit may go next.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    S.CHECKED_IN: (S.IN_PROGRESS, S.CANCELLED),
    S.IN_PROGRESS: (S.QUALITY_CHECK, S.CANCELLED),
    # A failed quality check sends the car back to the bay.
    S.QUALITY_CHECK: (S.READY, S.IN_PROGRESS, S.CANCELLED),
    S.READY: (S.DELIVERED, S.CANCELLED),
    S.DELIVERED: (),
    S.CANCELLED: (),
}


def allowed_transitions(status: str) -> tuple[str, ...]:
    return TRANSITIONS.get(status, ())


# The board's one-tap step forward; delivery asks for the amounts (its own form).
NEXT_STEP: dict[str, str] = {
    S.CHECKED_IN: S.IN_PROGRESS,
    S.IN_PROGRESS: S.QUALITY_CHECK,
    S.QUALITY_CHECK: S.READY,
}
# How long the advisor who tapped a step may take it back.
UNDO_WINDOW = timedelta(minutes=5)


def next_step(status: str) -> str | None:
    return NEXT_STEP.get(status)


def default_promised_at(now: datetime | None = None) -> datetime:
    """A suggestion for the form: two hours from now, rounded up to the half hour."""
    now = timezone.localtime(now or timezone.now()) + timedelta(hours=2)
    minute = 30 if now.minute <= 30 else 60
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=minute)


# ---------------------------------------------------------------- promises and delivery

# The figures' conditions (METRICS.md, "Keeping the customer informed"), over delivered
# visits. A visit has a promise when it was ever given one (the first promise).
PROMISED = Q(first_promised_at__isnull=False)
ON_TIME_FIRST = Q(first_promised_at__isnull=False, delivered_at__lte=F("first_promised_at"))
ON_TIME_LAST = Q(
    first_promised_at__isnull=False,
    promised_at__isnull=False,
    delivered_at__lte=F("promised_at"),
)
# Revised: with a reason here, or the promise moved by the DMS (which gives no reason).
REVISED = Q(first_promised_at__isnull=False) & (
    Q(promise_revisions__gt=0)
    | Q(promised_at__isnull=True)
    | ~Q(promised_at=F("first_promised_at"))
)
CHECKLIST_COMPLETE = Q(**dict.fromkeys(Visit.CHECKLIST, True))
# How long before now a revised promise may lie (the form's minute rounding).
PROMISE_SLACK = timedelta(minutes=1)
