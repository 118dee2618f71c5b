"""Booking slots as the booking page, the call screen and the desk read them: the shop's
slots (the capacity's days and hours, the shop calendar's holidays closed), each with its
capacity for a service type, the cars already booked in it and the places left.

An appointment counts against the slot its time falls in (booked or arrived; cancelled and
no-show ones do not), so a DMS appointment at 10:20 takes a place in the 10:00 slot."""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from shopcalendar import rules as calendar_rules
from shopcalendar import selectors as calendar
from visits.models import Appointment

from .models import BookingCapacity, ServiceTypeLimit

COUNTING = (Appointment.Status.BOOKED, Appointment.Status.ARRIVED)
NEXT_FREE_WEEK = 7


@dataclass(frozen=True)
class Slot:
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int
    free: int


@dataclass(frozen=True)
class Settings:
    """The capacity row resolved against the shop calendar: what the slot arithmetic needs."""

    days: str
    opens_at: time
    closes_at: time
    slot: timedelta
    cars_per_slot: int
    type_limits: dict
    lead: timedelta
    days_ahead: int

    def slot_starts(self, day: date, holidays: set[date]) -> list[datetime]:
        if str(day.isoweekday()) not in self.days or day in holidays:
            return []
        starts, moment = [], calendar_rules.at(day, self.opens_at)
        closes = calendar_rules.at(day, self.closes_at)
        while moment + self.slot <= closes:
            starts.append(moment)
            moment += self.slot
        return starts

    def capacity_for(self, service_type: str) -> int:
        limit = self.type_limits.get(service_type)
        return self.cars_per_slot if limit is None else min(limit, self.cars_per_slot)

    def earliest(self, now: datetime) -> datetime:
        """The first moment a slot may start when booked at ``now``."""
        return now + self.lead

    def last_day(self, now: datetime) -> date:
        return calendar_rules.local_day(now) + timedelta(days=self.days_ahead)


def booking_settings() -> Settings:
    capacity = BookingCapacity.current()
    shop = calendar.calendar()
    return Settings(
        days=capacity.days or shop.work_days,
        opens_at=capacity.opens_at or shop.business_start,
        closes_at=capacity.closes_at or shop.business_end,
        slot=timedelta(minutes=capacity.slot_minutes),
        cars_per_slot=capacity.cars_per_slot,
        type_limits=dict(ServiceTypeLimit.objects.values_list("service_type", "cars_per_slot")),
        lead=timedelta(minutes=capacity.lead_minutes),
        days_ahead=capacity.days_ahead,
    )


def slot_of(settings: Settings, moment: datetime) -> datetime | None:
    """The start of the slot that begins exactly at ``moment`` on an open day, else None."""
    day = calendar_rules.local_day(moment)
    starts = settings.slot_starts(day, calendar.holidays_between(day, day))
    return moment if moment in starts else None


def slot_counts(
    since: datetime, until: datetime, *, exclude_pk: int | None = None
) -> tuple[Counter, Counter]:
    """Appointments counting against capacity in [since, until): per time, and per (time,
    service type). The caller buckets the times into slots."""
    rows = Appointment.objects.filter(
        status__in=COUNTING, scheduled_at__gte=since, scheduled_at__lt=until
    )
    if exclude_pk is not None:
        rows = rows.exclude(pk=exclude_pk)
    overall, by_type = Counter(), Counter()
    for scheduled_at, service_type in rows.values_list("scheduled_at", "service_type"):
        overall[scheduled_at] += 1
        by_type[scheduled_at, service_type] += 1
    return overall, by_type


def slot_state(
    settings: Settings, starts_at: datetime, service_type: str, overall: Counter, by_type: Counter
) -> Slot:
    """One slot for ``service_type``: free is what both the overall limit and the service
    type's limit leave (never negative); booked is the places not free to it (at least the
    cars counted against the limit that binds, so an overbooked slot shows them all)."""
    ends_at = starts_at + settings.slot
    taken = sum(n for moment, n in overall.items() if starts_at <= moment < ends_at)
    free = settings.cars_per_slot - taken
    counted = taken
    limit = settings.type_limits.get(service_type)
    if limit is not None:
        taken_type = sum(
            n
            for (moment, kind), n in by_type.items()
            if kind == service_type and starts_at <= moment < ends_at
        )
        free = min(free, limit - taken_type)
        counted = taken_type
    capacity = settings.capacity_for(service_type)
    free = max(0, free)
    return Slot(starts_at, ends_at, capacity, max(capacity - free, counted), free)


def free_slots(
    *, service_type: str, start: date, days: int = 7, now: datetime | None = None
) -> list[Slot]:
    """Every bookable slot of ``days`` days from ``start`` (open days only, after the lead
    time, within the days ahead the shop takes bookings), full ones included (free 0)."""
    now = now or timezone.now()
    settings = booking_settings()
    return _slots(settings, service_type, start, days, now)


def _slots(
    settings: Settings, service_type: str, start: date, days: int, now: datetime
) -> list[Slot]:
    last = min(start + timedelta(days=max(days, 0) - 1), settings.last_day(now))
    if last < start:
        return []
    holidays = calendar.holidays_between(start, last)
    earliest = settings.earliest(now)
    starts = []
    day = start
    while day <= last:
        starts += [s for s in settings.slot_starts(day, holidays) if s >= earliest]
        day += timedelta(days=1)
    if not starts:
        return []
    overall, by_type = slot_counts(starts[0], starts[-1] + settings.slot)
    return [slot_state(settings, s, service_type, overall, by_type) for s in starts]


def next_free_slots(
    *, service_type: str, after: datetime, limit: int = 3, now: datetime | None = None
) -> list[Slot]:
    """The first ``limit`` slots with a free place starting after ``after`` (and after the
    lead time), looking as far as the shop takes bookings."""
    now = now or timezone.now()
    settings = booking_settings()
    day = calendar_rules.local_day(max(after, now))
    found: list[Slot] = []
    while len(found) < limit and day <= settings.last_day(now):
        for slot in _slots(settings, service_type, day, NEXT_FREE_WEEK, now):
            if slot.free > 0 and slot.starts_at > after:
                found.append(slot)
        day += timedelta(days=NEXT_FREE_WEEK)
    return found[:limit]


def upcoming_appointment(customer, *, now: datetime | None = None) -> Appointment | None:
    """The customer's next booked appointment from now on (the call screen shows it)."""
    now = now or timezone.now()
    return (
        Appointment.objects.filter(
            customer=customer,
            status=Appointment.Status.BOOKED,
            scheduled_at__gte=now,
        )
        .select_related("vehicle")
        .order_by("scheduled_at")
        .first()
    )
