"""The shop calendar's arithmetic, with no database: local midnight, opening hours,
holidays, the next moment the shop may contact a customer, and business hours between two
moments. Times are the shop's (settings.TIME_ZONE, Asia/Shanghai) whatever time zone a
request has activated. ``selectors`` feeds these from the administrator's ShopCalendar and
holidays."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy

EVERY_DAY = "1234567"
LOOK_AHEAD_DAYS = 60  # sixty days of holidays in a row: stop looking for an opening
MAX_DAYS = 800  # a business-hours deadline further away than this is a misconfiguration

# The days a filter, a report or a typed date may name. The shop keeps nothing older than
# the first, and far from both ends a day's arithmetic (its end, its month, a prediction
# so many days on, its moment in UTC) leaves Python's calendar: year 1 or 9999 was an
# OverflowError, a 500, where the user needs a message.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2100, 12, 31)


def check_day(day: date | None) -> None:
    """Refuse a day (or a moment, by its own calendar day) outside FIRST_DAY..LAST_DAY with
    a ValidationError; forms and the API's query serializers use it as a field validator."""
    if day is None:
        return
    if isinstance(day, datetime):
        day = day.date()
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(
            gettext_lazy("日期须在 %(first)s 到 %(last)s 之间。"),
            code="day_out_of_range",
            params={"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
        )


@dataclass(frozen=True)
class Hours:
    """A daily window [start, end) on the weekdays in ``days`` (1 = Monday … 7 = Sunday)."""

    start: time
    end: time
    days: str = EVERY_DAY

    def open_on(self, day: date, holidays: set[date]) -> bool:
        return str(day.isoweekday()) in self.days and day not in holidays

    def window(self, day: date) -> tuple[datetime, datetime]:
        return at(day, self.start), at(day, self.end)


def at(day: date, moment: time) -> datetime:
    """``moment`` on ``day`` in the shop's time zone."""
    return timezone.make_aware(datetime.combine(day, moment), timezone.get_default_timezone())


def start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` in the shop's time zone."""
    return at(day, time.min)


def end_of(day: date) -> datetime:
    """The moment ``day`` ends (midnight before the next day, in the shop's time zone): the
    exclusive upper bound of a filter "to ``day``"."""
    return start_of(day + timedelta(days=1))


def day_span(first: date, last: date) -> tuple[datetime, datetime]:
    """Whole days ``first`` to ``last`` (both included) as [since, until)."""
    return start_of(first), end_of(last)


def local_day(moment: datetime) -> date:
    """The shop's calendar day of a moment."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def is_open(moment: datetime, hours: Hours, holidays: set[date]) -> bool:
    local = timezone.localtime(moment, timezone.get_default_timezone())
    return hours.open_on(local.date(), holidays) and hours.start <= local.time() < hours.end


def next_open_moment(moment: datetime, hours: Hours, holidays: set[date]) -> datetime:
    """``moment`` itself when the shop is open then, otherwise the next opening."""
    local = timezone.localtime(moment, timezone.get_default_timezone())
    day = local.date()
    for _ in range(LOOK_AHEAD_DAYS + 1):
        if hours.open_on(day, holidays):
            opens, closes = hours.window(day)
            if local < opens:
                return opens
            if local < closes:
                return local
        day += timedelta(days=1)
        local = start_of(day)
    return local  # sixty days of holidays: give up looking, go then


def add_hours(start: datetime, amount: float, hours: Hours, holidays: set[date]) -> datetime:
    """The moment ``amount`` hours of open time after ``start``."""
    remaining = timedelta(hours=amount)
    local = timezone.localtime(start, timezone.get_default_timezone())
    day = local.date()
    for _ in range(MAX_DAYS):
        if hours.open_on(day, holidays):
            opens, closes = hours.window(day)
            begin = max(local, opens)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
        local = start_of(day)
    return local


def hours_between(start: datetime, end: datetime, hours: Hours, holidays: set[date]) -> float:
    """Open hours from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    if end < start:
        return -hours_between(end, start, hours, holidays)
    total = timedelta()
    day, last = local_day(start), local_day(end)
    while day <= last:
        if hours.open_on(day, holidays):
            opens, closes = hours.window(day)
            begin, finish = max(start, opens), min(end, closes)
            if finish > begin:
                total += finish - begin
        day += timedelta(days=1)
    return total.total_seconds() / 3600
