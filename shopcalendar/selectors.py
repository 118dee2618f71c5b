"""The shop calendar as the rest of shopcrm reads it: the administrator's hours and
holidays (cached in each process for a short while, dropped at once when this process saves
either, so a change reaches every process within CACHE_SECONDS), and the questions asked of
them — is it a time to contact a customer, when is the next one, when is a deadline counted
in business hours. Every sender, sweep and deadline asks here."""

from datetime import date, datetime, timedelta

from shopcrm.cache import ProcessCache

from . import rules
from .models import Holiday, ShopCalendar

CACHE_SECONDS = 30
_cache = ProcessCache(CACHE_SECONDS)
clear_cache = _cache.clear


def calendar() -> ShopCalendar:
    return _cache.get("calendar", ShopCalendar.current)


def holidays_between(start: date, end: date) -> set[date]:
    return _cache.get(
        ("holidays", start, end),
        lambda: set(Holiday.objects.filter(day__range=(start, end)).values_list("day", flat=True)),
    )


def contact_hours() -> rules.Hours:
    """When customers may be called or sent a message, every day but holidays."""
    shop = calendar()
    return rules.Hours(shop.contact_start, shop.contact_end)


def business_hours() -> rules.Hours:
    """When the service desk works: complaint deadlines count only these hours."""
    shop = calendar()
    return rules.Hours(shop.business_start, shop.business_end, shop.work_days)


def is_contact_time(moment: datetime) -> bool:
    """Not quiet hours: a call may be made, a message sent."""
    day = rules.local_day(moment)
    return rules.is_open(moment, contact_hours(), holidays_between(day, day))


def next_contact_moment(moment: datetime) -> datetime:
    """``moment`` itself in contact hours, otherwise the start of the next ones."""
    return rules.next_open_moment(moment, contact_hours(), _holidays_ahead(moment))


def is_business_time(moment: datetime) -> bool:
    """The shop is open (business hours on a working day, not a holiday)."""
    day = rules.local_day(moment)
    return rules.is_open(moment, business_hours(), holidays_between(day, day))


def next_business_moment(moment: datetime) -> datetime:
    """``moment`` itself in opening hours, otherwise the next opening."""
    return rules.next_open_moment(moment, business_hours(), _holidays_ahead(moment))


def contact_context(moment: datetime) -> tuple[rules.Hours, set[date]]:
    """The contact hours and the holidays of the weeks after ``moment``, for pure rules that
    look ahead from it (the queue's retry spacing)."""
    return contact_hours(), _holidays_ahead(moment)


def _holidays_ahead(moment: datetime) -> set[date]:
    first = rules.local_day(moment)
    return holidays_between(first, first + timedelta(days=rules.LOOK_AHEAD_DAYS + 2))


def add_business_hours(start: datetime, amount: float) -> datetime:
    day = rules.local_day(start)
    holidays = holidays_between(day, day + timedelta(days=rules.MAX_DAYS))
    return rules.add_hours(start, amount, business_hours(), holidays)


def business_hours_between(start: datetime, end: datetime) -> float:
    first, last = sorted((rules.local_day(start), rules.local_day(end)))
    return rules.hours_between(start, end, business_hours(), holidays_between(first, last))
