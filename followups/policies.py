"""Calling-hours arithmetic: when may the call centre dial, and when is the next chance.

The policy and the holidays are read on every "next call"; they are cached in the process
for a short while (and dropped at once when this process saves either), so an
administrator's change reaches every web process within CACHE_SECONDS.
"""

import time as monotonic_clock
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from .models import FollowUpPolicy, Holiday

CACHE_SECONDS = 30
_cache: dict = {}


def clear_cache(*args, **kwargs) -> None:
    _cache.clear()


def _cached(key, load):
    hit = _cache.get(key)
    if hit and hit[0] > monotonic_clock.monotonic():
        return hit[1]
    value = load()
    _cache[key] = (monotonic_clock.monotonic() + CACHE_SECONDS, value)
    return value


def current_policy() -> FollowUpPolicy:
    return _cached("policy", FollowUpPolicy.current)


def _at(day: date, moment: time) -> datetime:
    return timezone.make_aware(datetime.combine(day, moment), timezone.get_default_timezone())


def start_of(day: date) -> datetime:
    return _at(day, time.min)


def holidays_between(start: date, end: date) -> set[date]:
    return _cached(
        ("holidays", start, end),
        lambda: set(Holiday.objects.filter(day__range=(start, end)).values_list("day", flat=True)),
    )


def is_calling_time(
    at: datetime, policy: FollowUpPolicy, holidays: set[date] | None = None
) -> bool:
    local = timezone.localtime(at)
    if holidays is None:
        holidays = holidays_between(local.date(), local.date())
    return (
        local.date() not in holidays and policy.calling_start <= local.time() < policy.calling_end
    )


def next_calling_moment(at: datetime, policy: FollowUpPolicy) -> datetime:
    """``at`` itself when it is calling time, otherwise the start of the next calling day."""
    local = timezone.localtime(at)
    holidays = holidays_between(local.date(), local.date() + timedelta(days=60))
    day = local.date()
    for _ in range(61):
        if day not in holidays:
            start, end = _at(day, policy.calling_start), _at(day, policy.calling_end)
            if local < start:
                return start
            if local < end:
                return local
        day += timedelta(days=1)
        local = _at(day, time.min)
    return local  # sixty days of holidays: give up looking, call then


def next_retry(at: datetime, attempts: int, policy: FollowUpPolicy) -> datetime:
    """After the first unanswered dial, retry after the policy's hours; after later ones,
    on the next calling day."""
    if attempts <= 1:
        return next_calling_moment(at + timedelta(hours=policy.first_retry_hours), policy)
    tomorrow = timezone.localtime(at).date() + timedelta(days=1)
    return next_calling_moment(_at(tomorrow, time.min), policy)
