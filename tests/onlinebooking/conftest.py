from datetime import time, timedelta

import pytest
from django.utils import timezone

from bookings.models import BookingCapacity
from bookings.selectors import free_slots
from messaging.models import Message
from shopcalendar import selectors as calendar
from tests.factories import contact_all_day


@pytest.fixture
def open_shop(db):
    """Bookings every day 08:00–18:00 in one-hour slots, 3 cars each, two hours' lead;
    messages may go out at any hour (quiet hours are the outbox's own tests)."""
    capacity = BookingCapacity.current()
    capacity.days, capacity.opens_at, capacity.closes_at = "1234567", time(8), time(18)
    capacity.slot_minutes, capacity.cars_per_slot, capacity.lead_minutes = 60, 3, 120
    capacity.days_ahead = 60
    capacity.save()
    calendar.clear_cache()
    contact_all_day()
    return capacity


def a_free_slot(service_type="maintenance", day_offset=1, index=0):
    """A free slot ``day_offset`` days ahead (the ``index``-th of that day)."""
    start = timezone.localdate() + timedelta(days=day_offset)
    slots = [s for s in free_slots(service_type=service_type, start=start, days=1) if s.free]
    return slots[index]


def the_code(row) -> str:
    """The code of a BookingCode row, from the outbox (before it is sent and blanked)."""
    return Message.objects.get(object_key=f"booking_code:{row.pk}").params["code"]
