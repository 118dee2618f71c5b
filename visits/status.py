"""The customer's status page of a repair (/r/<token>/): the link, what the page shows, and
when the link stops working. The token is 192 random bits (the survey link's rule:
surveys.tokens); only its SHA-256 is stored."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from shopcrm.tokens import hash_token, new_token

from .models import StatusLink, Visit

S = Visit.Status
LINK_DAYS_AFTER_DELIVERY = 30
# The steps the customer follows, in order (a cancellation ends them).
STEPS = (S.CHECKED_IN, S.IN_PROGRESS, S.QUALITY_CHECK, S.READY, S.DELIVERED)


def status_link_create(*, visit: Visit) -> str:
    """A new link to ``visit``'s status page (one per message that carries it)."""
    token, token_hash = new_token()
    StatusLink.objects.create(visit=visit, token_hash=token_hash)
    return f"{settings.SHOPCRM_PUBLIC_URL.rstrip('/')}/r/{token}/"


def link_expires_at(visit: Visit) -> datetime | None:
    """30 days after the car was handed back (or the visit cancelled); open visits: never."""
    if visit.status == S.DELIVERED and visit.delivered_at:
        return visit.delivered_at + timedelta(days=LINK_DAYS_AFTER_DELIVERY)
    if visit.status == S.CANCELLED:
        return visit.updated_at + timedelta(days=LINK_DAYS_AFTER_DELIVERY)
    return None


def visit_for_token(token: str, *, now: datetime | None = None) -> tuple[str, Visit | None]:
    """("ok", visit), ("expired", None) or ("invalid", None): a guessed link learns nothing."""
    if not token or len(token) > 100:
        return "invalid", None
    link = (
        StatusLink.objects.select_related("visit__vehicle", "visit__customer", "visit__advisor")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None:
        return "invalid", None
    expires = link_expires_at(link.visit)
    if expires is not None and expires <= (now or timezone.now()):
        return "expired", None
    return "ok", link.visit


@dataclass
class Step:
    status: str
    label: str
    at: datetime | None
    done: bool
    current: bool


@dataclass
class StatusPage:
    visit: Visit
    steps: list[Step] = field(default_factory=list)
    cancelled: bool = False


def status_page(*, visit: Visit) -> StatusPage:
    """The steps with the time each was reached (from the visit's change history)."""
    reached: dict[str, datetime] = {S.CHECKED_IN: visit.checked_in_at}
    for row in visit.history.order_by("history_date").values("status", "history_date"):
        reached.setdefault(row["status"], row["history_date"])
    if visit.delivered_at:
        reached[S.DELIVERED] = visit.delivered_at
    current = visit.status
    position = STEPS.index(current) if current in STEPS else -1
    steps = [
        Step(
            status=status,
            label=S(status).label,
            at=reached.get(status) if index <= position else None,
            done=index <= position,
            current=status == current,
        )
        for index, status in enumerate(STEPS)
    ]
    return StatusPage(visit=visit, steps=steps, cancelled=current == S.CANCELLED)
