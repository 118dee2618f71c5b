"""Thin Celery tasks. Safe to run twice, or two at once: refreshes take turns on a lock and
each takes only the changes it saw (reports.daily)."""

from celery import shared_task
from django.utils import timezone

from . import daily, tiers


@shared_task(name="reports.tasks.refresh_daily_figures", time_limit=600, soft_time_limit=540)
def refresh_daily_figures() -> int:
    """Every minute, so that a dashboard read rarely finds work left to do. Returns the
    change-log rows taken."""
    return daily.refresh()


@shared_task(name="reports.tasks.refresh_value_tiers", time_limit=600, soft_time_limit=540)
def refresh_value_tiers() -> dict | None:
    """Every hour, so that a night the beat was down is made up: the first run of each
    shop day stores the value tiers (reports.tiers); later runs that day find them done.
    Two at once store the same tiers."""
    today = timezone.localdate()
    if tiers.value_tiers_stored_on(today):
        return None
    return tiers.value_tiers_store(as_of=today)
