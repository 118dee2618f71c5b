"""Thin Celery tasks. Safe to run twice: escalation rows are unique."""

from celery import shared_task

from . import services


@shared_task(name="complaints.tasks.escalate_breaches", time_limit=120, soft_time_limit=100)
def escalate_breaches() -> int:
    return services.complaint_escalate_breaches()
