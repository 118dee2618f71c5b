"""Thin Celery tasks: safe to run twice (the outbox's unique key)."""

from celery import shared_task

from . import services


@shared_task(
    name="onlinebooking.tasks.sweep_booking_reminders", time_limit=120, soft_time_limit=100
)
def sweep_booking_reminders() -> dict:
    """Every ten minutes: tomorrow's appointments' reminders; the spent codes pruned."""
    return {
        "reminders": services.booking_reminder_create_due(),
        "codes_pruned": services.booking_codes_prune(),
    }
