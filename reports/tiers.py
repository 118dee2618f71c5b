"""The value tiers stored on the customers (issue 19): the badge on the customer at a
glance and the call queue's VIP policy read ``Customer.value_tier``; this writes it from
METRICS.md's RFM computation (``dashboard.value_tiers``, the dashboard's pyramid), once a
day by the beat and at the end of seed_demo."""

from datetime import date

from django.utils import timezone

from customers.models import Customer
from customers.services import customer_value_tiers_set
from followups.services import task_priorities_apply

from .dashboard import value_tiers


def value_tiers_store(*, as_of: date | None = None) -> dict:
    """Compute every customer's tier as of ``as_of`` (today) and store it with the day;
    customers without a delivered visit in the 24 months get none. Then the waiting calls
    take the priority the new tiers give them (followups' VIP policy)."""
    as_of = as_of or timezone.localdate()
    frame = value_tiers(as_of)["frame"]
    tiers = dict(zip(frame["customer_id"].tolist(), frame["tier"].tolist(), strict=True))
    written = customer_value_tiers_set(tiers=tiers, on=as_of)
    return {"customers": written, "calls_moved": task_priorities_apply()}


def value_tiers_stored_on(day: date) -> bool:
    """Whether the tiers were stored on ``day`` already (the beat's once a day)."""
    return Customer.objects.filter(value_tier_on=day).exists()
