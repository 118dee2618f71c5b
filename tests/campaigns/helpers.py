"""Shared set-up of the campaign tests: a shop frozen at today's noon (Shanghai), customers
with cars and a delivered visit, and a campaign factory."""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from campaigns.models import Campaign
from tests.factories import CustomerFactory, VehicleFactory, VisitFactory
from visits.models import Visit

TZ = timezone.get_default_timezone()
TODAY = timezone.localdate()
NOW = timezone.make_aware(datetime.combine(TODAY, time(12, 0)), TZ)


def at(day, hours: float = 10) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), TZ) + timedelta(hours=hours)


def customer_with_car(
    *, days_ago: int = 30, model: str = "朗逸", service_type="maintenance", **customer
):
    """A customer, their car, and a visit delivered ``days_ago`` days ago."""
    customer.setdefault("marketing_consent", True)
    owner = CustomerFactory(**customer)
    vehicle = VehicleFactory(owner=owner, model=model)
    day = TODAY - timedelta(days=days_ago)
    VisitFactory(
        vehicle=vehicle,
        service_type=service_type,
        status=Visit.Status.DELIVERED,
        checked_in_at=at(day, 9),
        promised_at=at(day, 12),
        first_promised_at=at(day, 12),
        delivered_at=at(day, 11),
        odometer_km=10000,
        total_amount=Decimal("500.00"),
    )
    return owner, vehicle


def campaign(**fields) -> Campaign:
    values = {
        "name": "朗逸保养季",
        "kind": Campaign.Kind.MARKETING,
        "audience": Campaign.Audience.VEHICLE_MODEL,
        "vehicle_model": "朗逸",
        "channel": Campaign.Channel.BOTH,
        "message_template": "【{shop}】{plate} 保养季，预约：{link}",
        "starts_at": NOW - timedelta(minutes=5),
        "ends_on": TODAY + timedelta(days=30),
        "status": Campaign.Status.SCHEDULED,
    }
    values.update(fields)
    return Campaign.objects.create(**values)
