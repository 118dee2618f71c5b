"""Reads of the campaigns: who is in an audience, and every figure of the progress page,
defined here once (docs/decisions.md, "Campaigns").

Figures of a campaign (each counts contacts, one per customer, unless said otherwise):
- audience: the customers of the audience, frozen when the campaign started;
- skipped: of those, the ones not contacted because of do-not-contact, consent, service
  messages turned off, or no address (counted, never contacted);
- contacted: the campaign's call was dialled at least once, or its message was sent;
- reached: the call reached the customer (reached, issue or booked), or the message was sent
  (a delivered SMS or WeChat message is the customer reached: there is no read receipt);
- booked: contacted, and an appointment of the customer was made from the moment they joined
  the campaign to its end date (whatever became of the appointment);
- arrived: contacted, and a visit of the customer (not cancelled) was checked in from the
  moment they joined to ``GRACE_DAYS`` after the end date;
- revenue: the total amount of those visits once delivered (all of them, not only the first);
- recall close rate: of the recall's listed vehicles, those with a delivered visit of service
  type recall (召回) delivered after the campaign's start, whenever that was.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce

from customers.models import Customer, Vehicle
from followups.models import FollowUpTask
from messaging.models import Message
from reports import metrics
from reports.dashboard import value_tiers
from shopcalendar.rules import end_of, start_of
from visits.models import Appointment, ServiceType, Visit

from .models import Campaign, CampaignContact, CampaignVehicle

Audience = Campaign.Audience
GRACE_DAYS = 14  # visits this long after the end date still count as the campaign's


# ---------------------------------------------------------------- the audience


def audience_of(campaign: Campaign, as_of: date) -> dict[int, int | None]:
    """{customer id: the vehicle the contact is about (None: the customer's latest car)} of
    the campaign's audience on ``as_of``: current customers (not merged) only."""
    pairs = _AUDIENCES[campaign.audience](campaign, as_of)
    chosen: dict[int, int | None] = {}
    for customer_id, vehicle_id in pairs:
        if chosen.get(customer_id) is None:
            chosen[int(customer_id)] = int(vehicle_id) if vehicle_id is not None else None
    current = set(
        Customer.objects.filter(pk__in=list(chosen), merged_into__isnull=True).values_list(
            "pk", flat=True
        )
    )
    return {customer_id: chosen[customer_id] for customer_id in sorted(current)}


def _service_due(campaign, as_of):
    frame = metrics.service_due(as_of, within=campaign.due_within_days or 0, show="upcoming")
    return zip(frame["customer_id"], frame["vehicle_id"], strict=True)


def _churn(state):
    def pick(campaign, as_of):
        return (
            (customer_id, None) for customer_id in metrics.churn_frame(as_of, state)["customer_id"]
        )

    return pick


def _value_tier(campaign, as_of):
    frame = value_tiers(as_of)["frame"]
    if frame.empty:
        return []
    return (
        (customer_id, None)
        for customer_id in frame[frame["tier"] == campaign.value_tier]["customer_id"]
    )


def _mileage_band(campaign, as_of):
    vehicle_ids = [
        int(pk) for pk in metrics.qualifying_vehicles(as_of, campaign.mileage_band)["vehicle_id"]
    ]
    return _owners(Vehicle.objects.filter(pk__in=vehicle_ids))


def _vehicle_model(campaign, as_of):
    return _owners(Vehicle.objects.filter(model__icontains=campaign.vehicle_model.strip()))


def _last_visit(campaign, as_of):
    last = (
        Visit.objects.filter(status=Visit.Status.DELIVERED, delivered_at__lt=end_of(as_of))
        .values("customer_id")
        .annotate(last_at=Max("delivered_at"))
        .filter(
            last_at__gte=start_of(campaign.last_visit_from),
            last_at__lt=end_of(campaign.last_visit_to),
        )
    )
    return ((row["customer_id"], None) for row in last)


def _vin_list(campaign, as_of):
    return _owners(
        Vehicle.objects.filter(
            pk__in=CampaignVehicle.objects.filter(campaign=campaign).values("vehicle_id")
        )
    )


def _owners(vehicles):
    """(owner, vehicle) of the vehicles still in service, the lowest vehicle id first."""
    return vehicles.filter(is_active=True).order_by("pk").values_list("owner_id", "pk")


_AUDIENCES = {
    Audience.SERVICE_DUE: _service_due,
    Audience.AT_RISK: _churn("at_risk"),
    Audience.LAPSED: _churn("lapsed"),
    Audience.VALUE_TIER: _value_tier,
    Audience.MILEAGE_BAND: _mileage_band,
    Audience.VEHICLE_MODEL: _vehicle_model,
    Audience.LAST_VISIT: _last_visit,
    Audience.VIN_LIST: _vin_list,
}


def latest_vehicles(customer_ids) -> dict[int, int]:
    """{customer id: their current car updated last} (the car a customer-wide campaign
    names), as the win-back does."""
    latest: dict[int, int] = {}
    rows = (
        Vehicle.objects.filter(owner_id__in=list(customer_ids), is_active=True)
        .order_by("owner_id", "-updated_at", "-pk")
        .values_list("owner_id", "pk")
    )
    for owner_id, vehicle_id in rows:
        latest.setdefault(owner_id, vehicle_id)
    return latest


# ---------------------------------------------------------------- figures


def _contacted():
    return Q(task__attempts__gt=0) | Q(message__status=Message.Status.SENT)


def _reached():
    return Q(task__outcome__in=FollowUpTask.REACHED) | Q(message__status=Message.Status.SENT)


def _window_visits(campaign: Campaign):
    """The visits that count for a contact (OuterRef: the contact row)."""
    return Visit.objects.filter(
        customer_id=OuterRef("customer_now"),
        checked_in_at__gte=OuterRef("created_at"),
        checked_in_at__lt=end_of(campaign.ends_on + timedelta(days=GRACE_DAYS)),
    ).exclude(status=Visit.Status.CANCELLED)


def _flag(condition: Q):
    return ExpressionWrapper(condition, output_field=BooleanField())


def with_states(campaign: Campaign):
    """The campaign's contacts, each annotated with what became of it (contacted, reached,
    booked, arrived, revenue)."""
    booked = Appointment.objects.filter(
        customer_id=OuterRef("customer_now"),
        created_at__gte=OuterRef("created_at"),
        created_at__lt=end_of(campaign.ends_on),
    )
    revenue = (
        _window_visits(campaign)
        .filter(status=Visit.Status.DELIVERED)
        .values("customer_id")
        .annotate(total=Sum("total_amount"))
        .values("total")
    )
    contacted = _contacted()
    # A contact stays with the customer it was made for; when that record was merged into
    # another (customers.services.customer_merge), its appointments and visits are the
    # other's now.
    contacts = CampaignContact.objects.filter(campaign=campaign).annotate(
        customer_now=Coalesce(F("customer__merged_into_id"), F("customer_id"))
    )
    return contacts.annotate(
        is_contacted=_flag(contacted),
        is_reached=_flag(_reached()),
        is_booked=_flag(contacted & Q(Exists(booked))),
        is_arrived=_flag(contacted & Q(Exists(_window_visits(campaign)))),
        revenue=Coalesce(Subquery(revenue), Decimal("0")),
    )


@dataclass(frozen=True)
class Figures:
    audience: int
    skipped: int
    planned: int
    contacted: int
    reached: int
    booked: int
    arrived: int
    revenue: Decimal
    recall_vehicles: int
    recall_closed: int

    @property
    def recall_close_rate(self) -> float | None:
        return self.recall_closed / self.recall_vehicles if self.recall_vehicles else None


def figures(campaign: Campaign) -> Figures:
    """The progress page's figures (the module's docstring defines each)."""
    counts = with_states(campaign).aggregate(
        audience=Count("pk"),
        skipped=Count("pk", filter=~Q(skipped="")),
        planned=Count("pk", filter=Q(task__isnull=False) | Q(message__isnull=False)),
        contacted=Count("pk", filter=Q(is_contacted=True)),
        reached=Count("pk", filter=Q(is_reached=True)),
        booked=Count("pk", filter=Q(is_booked=True)),
        arrived=Count("pk", filter=Q(is_arrived=True)),
    )
    revenue = with_states(campaign).filter(is_contacted=True).aggregate(total=Sum("revenue"))[
        "total"
    ] or Decimal("0")
    closed = recall_closed(campaign)
    return Figures(**counts, revenue=revenue, **closed)


def recall_closed(campaign: Campaign) -> dict:
    listed = CampaignVehicle.objects.filter(campaign=campaign)
    done = Visit.objects.filter(
        vehicle_id=OuterRef("vehicle_id"),
        service_type=ServiceType.RECALL,
        status=Visit.Status.DELIVERED,
        delivered_at__gte=campaign.starts_at,
    )
    return {
        "recall_vehicles": listed.count(),
        "recall_closed": listed.filter(Exists(done)).count(),
    }


CONTACT_STATES = ("skipped", "waiting", "contacted", "reached", "booked", "arrived")


def contacts(campaign: Campaign, state: str = ""):
    """The contacts behind a figure (``state``: one of CONTACT_STATES, "" for all)."""
    rows = with_states(campaign).select_related("customer", "vehicle", "task", "message")
    filters = {
        "skipped": ~Q(skipped=""),
        "waiting": Q(skipped="", is_contacted=False),
        "contacted": Q(is_contacted=True),
        "reached": Q(is_reached=True),
        "booked": Q(is_booked=True),
        "arrived": Q(is_arrived=True),
    }
    if state in filters:
        rows = rows.filter(filters[state])
    return rows.order_by("pk")


def campaign_list():
    return (
        Campaign.objects.select_related("created_by")
        .annotate(
            audience_size=Count("contacts", distinct=True),
            vin_count=Count("vehicles", distinct=True),
        )
        .order_by("-starts_at", "-pk")
    )
