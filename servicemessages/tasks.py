"""Thin Celery tasks: each is safe to run twice (the outbox's unique key)."""

from celery import shared_task

from . import services

SWEEP = {"time_limit": 120, "soft_time_limit": 100}


@shared_task(
    name="servicemessages.tasks.create_service_message",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
    **SWEEP,
)
def create_service_message(event: str, visit_id: int) -> int | None:
    message = services.service_message_create(event=event, visit_id=visit_id)
    return message.pk if message else None


@shared_task(name="servicemessages.tasks.sweep_missing_service_messages", **SWEEP)
def sweep_missing_service_messages() -> int:
    """Every minute: the service messages the visit events' tasks did not queue."""
    return (
        services.service_message_create_missing()
        + services.extra_work_messages_create_missing()
        + services.promise_messages_create_missing()
    )
