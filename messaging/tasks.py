from celery import shared_task

from . import services


@shared_task(name="messaging.tasks.send_message", time_limit=60, soft_time_limit=50)
def send_message(message_id: int) -> str:
    return services.message_send(message_id=message_id)


@shared_task(name="messaging.tasks.send_due_messages", time_limit=240, soft_time_limit=200)
def send_due_messages() -> int:
    return services.message_send_due()
