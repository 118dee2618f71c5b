"""Thin Celery tasks. Safe to run twice, or two at once: refreshes take turns on a lock and
each takes only the changes it saw (reports/states.py, reports/daily.py)."""

from celery import shared_task

from . import daily, states


@shared_task(name="reports.tasks.refresh_states", time_limit=600, soft_time_limit=540)
def refresh_states() -> int:
    """Every minute, so that a dashboard read rarely finds work left to do: the state tables
    and the daily figures. Returns the change-log rows taken."""
    return states.refresh() + daily.refresh()
