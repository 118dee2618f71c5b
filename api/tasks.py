from celery import shared_task

from . import services


@shared_task(name="api.tasks.prune_idempotency_records", time_limit=300, soft_time_limit=240)
def prune_idempotency_records() -> int:
    return services.idempotency_records_prune()
