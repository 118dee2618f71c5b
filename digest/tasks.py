"""Thin Celery task. Safe to run twice or two at once (digest.services)."""

from celery import shared_task

from . import services


@shared_task(name="digest.tasks.morning_digests", time_limit=600, soft_time_limit=540)
def morning_digests() -> dict:
    """Every few minutes: yesterday's digests once the policy's time has passed, then the
    e-mail of any digest not yet in the outbox."""
    return {"made": services.digests_make(), "queued": services.digests_send_pending()}
