"""The DMS's appointments against the shop's capacity (issue 18): the DMS is the source of
truth, so its appointments are stored whatever the capacity; the sync's answer reports each
one whose slot now holds more cars than the slot's capacity (overall, or for its service
type). Counted like the booking core counts (bookings.selectors: booked and arrived)."""

from datetime import datetime

from shopcalendar import rules as calendar_rules
from shopcalendar import selectors as calendar

from .selectors import COUNTING, booking_settings, slot_counts


def over_capacity(appointments: list[tuple[datetime, str, str]]) -> list[dict | None]:
    """For each (scheduled_at, service_type, status): the slot it sits in when that slot is
    past its capacity, as ``{"slot_starts_at", "capacity", "booked"}``; else None (a slot
    within capacity, an appointment that does not count, a time outside the shop's slots).
    One query for the whole batch."""
    if not appointments:
        return []
    settings = booking_settings()
    days = [calendar_rules.local_day(moment) for moment, _type, _status in appointments]
    holidays = calendar.holidays_between(min(days), max(days))
    starts_by_day = {day: settings.slot_starts(day, holidays) for day in set(days)}
    slot_of = []
    for (moment, _type, status), day in zip(appointments, days, strict=True):
        start = next((s for s in starts_by_day[day] if s <= moment < s + settings.slot), None)
        slot_of.append(start if status in COUNTING else None)
    starts = [s for s in slot_of if s is not None]
    if not starts:
        return [None] * len(appointments)
    overall, by_type = slot_counts(min(starts), max(starts) + settings.slot)
    report = []
    for (_moment, service_type, _status), start in zip(appointments, slot_of, strict=True):
        if start is None:
            report.append(None)
            continue
        end = start + settings.slot
        taken = sum(n for moment, n in overall.items() if start <= moment < end)
        limit = settings.type_limits.get(service_type)
        taken_type = sum(
            n
            for (moment, kind), n in by_type.items()
            if kind == service_type and start <= moment < end
        )
        if taken > settings.cars_per_slot:
            report.append(_over(start, settings.cars_per_slot, taken))
        elif limit is not None and taken_type > limit:
            report.append(_over(start, limit, taken_type))
        else:
            report.append(None)
    return report


def _over(start: datetime, capacity: int, booked: int) -> dict:
    return {"slot_starts_at": start.isoformat(), "capacity": capacity, "booked": booked}
