"""Thin Celery tasks: load by id, call one service. Each is safe to run twice."""

from celery import shared_task

from . import services, states

SWEEP = {"time_limit": 120, "soft_time_limit": 100}


@shared_task(
    name="followups.tasks.create_post_service_task",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
    **SWEEP,
)
def create_post_service_task(visit_id: int) -> int | None:
    task = services.post_service_task_create(visit_id=visit_id)
    return task.pk if task else None


@shared_task(name="followups.tasks.sweep_missing_calls", **SWEEP)
def sweep_missing_calls() -> int:
    """Every minute: the three-day calls the "visit delivered" event's task did not make."""
    return services.post_service_task_create_missing()


@shared_task(name="followups.tasks.sweep_leases_and_expiry", **SWEEP)
def sweep_leases_and_expiry() -> dict:
    return {
        "released": services.lease_release_expired(),
        "expired": services.task_expire_stale(),
        "cancelled": services.task_cancel_uncontactable(),
    }


@shared_task(name="followups.tasks.sweep_reminders_and_win_backs", **SWEEP)
def sweep_reminders_and_win_backs() -> dict:
    return {
        "reminders": services.reminder_create_due(),
        "win_backs": services.win_back_create_due(),
        "recommended_work": services.recommended_work_calls_sync(),
        # The calls after no-shows the "appointments missed" event did not plan.
        "missed_appointments": services.missed_appointment_calls_create(),
    }


@shared_task(name="followups.tasks.refresh_states", time_limit=600, soft_time_limit=540)
def refresh_states() -> int:
    """Every minute, so that a sweep or a report read rarely finds work left to do: the
    vehicle and customer states (safe twice or at once: refreshers take turns and each takes
    only the changes it saw). Returns the change-log rows taken."""
    return states.refresh()
