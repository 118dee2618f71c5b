"""Thin Celery tasks. Safe to run twice, or two at once: refreshes take turns on a lock and
each takes only the changes it saw (reports.daily)."""

from celery import shared_task

from . import daily


@shared_task(name="reports.tasks.refresh_daily_figures", time_limit=600, soft_time_limit=540)
def refresh_daily_figures() -> int:
    """Every minute, so that a dashboard read rarely finds work left to do. Returns the
    change-log rows taken."""
    return daily.refresh()
