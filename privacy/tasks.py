"""Thin Celery tasks: call one service. Each is safe to run twice."""

from celery import shared_task

from . import services


@shared_task(name="privacy.tasks.retention_sweep", time_limit=300, soft_time_limit=240)
def retention_sweep() -> dict:
    """Hourly: prune what the retention policy no longer keeps."""
    return services.retention_sweep()
