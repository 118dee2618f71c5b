"""Business-hours arithmetic for complaint deadlines: the clock runs only on working days,
between the policy's opening and closing time, and never on a shop holiday."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from followups.models import Holiday

MAX_DAYS = 800  # a deadline further away than this is a misconfiguration; stop looking


def _at(day: date, moment: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, moment), timezone.get_default_timezone())


def _holidays(start: date, days: int) -> set[date]:
    return set(
        Holiday.objects.filter(day__range=(start, start + timedelta(days=days))).values_list(
            "day", flat=True
        )
    )


def is_working_day(day: date, policy, holidays: set[date]) -> bool:
    return str(day.isoweekday()) in policy.work_days and day not in holidays


def add_business_hours(start: datetime, hours: float, policy, holidays=None) -> datetime:
    """The moment ``hours`` of business time after ``start``."""
    remaining = timedelta(hours=hours)
    local = timezone.localtime(start)
    day = local.date()
    holidays = _holidays(day, MAX_DAYS) if holidays is None else holidays
    for _ in range(MAX_DAYS):
        if is_working_day(day, policy, holidays):
            opens, closes = _at(day, policy.business_start), _at(day, policy.business_end)
            begin = max(local, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
        local = _at(day, time.min)
    return local


def business_hours_between(start: datetime, end: datetime, policy, holidays=None) -> float:
    """Business hours from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    if end < start:
        return -business_hours_between(end, start, policy, holidays)
    first, last = timezone.localtime(start).date(), timezone.localtime(end).date()
    holidays = _holidays(first, (last - first).days) if holidays is None else holidays
    total = timedelta()
    day = first
    while day <= last:
        if is_working_day(day, policy, holidays):
            opens, closes = _at(day, policy.business_start), _at(day, policy.business_end)
            begin, finish = max(start, opens), min(end, closes)
            if finish > begin:
                total += finish - begin
        day += timedelta(days=1)
    return total.total_seconds() / 3600
