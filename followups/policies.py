"""The follow-up policy as the queue reads it, and the retry spacing.

The policy is read on every "next call"; it is cached in the process for a short while (and
dropped at once when this process saves it), so an administrator's change reaches every web
process within CACHE_SECONDS. When calls may be made is the shop calendar's contact hours.
"""

import time as monotonic_clock
from datetime import datetime, timedelta

from shopcalendar import rules as calendar_rules
from shopcalendar import selectors as calendar

from .models import FollowUpPolicy

CACHE_SECONDS = 30
_cache: dict = {}


def clear_cache(*args, **kwargs) -> None:
    _cache.clear()


def current_policy() -> FollowUpPolicy:
    hit = _cache.get("policy")
    if hit and hit[0] > monotonic_clock.monotonic():
        return hit[1]
    policy = FollowUpPolicy.current()
    _cache["policy"] = (monotonic_clock.monotonic() + CACHE_SECONDS, policy)
    return policy


def next_retry(at: datetime, attempts: int, policy: FollowUpPolicy) -> datetime:
    """After the first unanswered dial, retry after the policy's hours; after later ones,
    on the next calling day."""
    if attempts <= 1:
        return calendar.next_contact_moment(at + timedelta(hours=policy.first_retry_hours))
    tomorrow = calendar_rules.local_day(at) + timedelta(days=1)
    return calendar.next_contact_moment(calendar_rules.start_of(tomorrow))
