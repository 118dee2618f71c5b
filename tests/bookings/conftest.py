from datetime import time, timedelta

import pytest
from django.utils import timezone

from bookings.models import BookingCapacity, ServiceTypeLimit
from shopcalendar import selectors as calendar
from shopcalendar.rules import at


def a_monday(weeks_ahead: int = 2):
    today = timezone.localdate()
    return today + timedelta(days=7 * weeks_ahead - today.weekday())


@pytest.fixture
def shop(db):
    """Bookings Monday to Saturday 09:00–12:00 in one-hour slots, 3 cars a slot, repair 2,
    two hours' lead; "now" is the Friday noon before the Monday two weeks ahead."""
    capacity = BookingCapacity.current()
    capacity.days, capacity.opens_at, capacity.closes_at = "123456", time(9), time(12)
    capacity.slot_minutes, capacity.cars_per_slot, capacity.lead_minutes = 60, 3, 120
    capacity.days_ahead = 60
    capacity.save()
    ServiceTypeLimit.objects.update_or_create(service_type="repair", defaults={"cars_per_slot": 2})
    ServiceTypeLimit.objects.filter(service_type="maintenance").delete()
    calendar.clear_cache()
    monday = a_monday()
    return {"monday": monday, "now": at(monday - timedelta(days=3), time(12))}
