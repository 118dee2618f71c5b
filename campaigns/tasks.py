"""Thin Celery task. Safe to run twice or two at once (campaigns.services)."""

from celery import shared_task

from . import services


@shared_task(name="campaigns.tasks.run_campaigns", time_limit=600, soft_time_limit=540)
def run_campaigns() -> dict:
    """Every few minutes: end, start and plan the campaigns."""
    return services.campaigns_run()
