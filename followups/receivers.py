from shopcrm.celery import enqueue_on_commit

from . import tasks


def schedule_post_service_call(sender, *, visit_id: int, source: str, **kwargs) -> None:
    """On "visit delivered" (sent after commit): enqueue the task that creates the call (the
    fast path: the missing-calls sweep creates it if the broker loses it)."""
    enqueue_on_commit(tasks.create_post_service_task.name, visit_id)


def cancel_refused_calls(sender, *, customer_ids: set, **kwargs) -> None:
    """On "contact withdrawn" (inside the changing transaction): the customer's planned calls
    that the contact rules now refuse are cancelled."""
    from . import services

    services.task_cancel_uncontactable(customer_ids=customer_ids)


def call_about_recommended_work(sender, *, item, **kwargs) -> None:
    """On "extra work answered" (after commit): a declined or deferred item is a
    recommendation; its call is planned now (the reminders sweep does it otherwise)."""
    from . import services

    recommendation = getattr(item, "recommendation", None)
    if recommendation is not None:
        services.recommended_work_call_create(recommendation=recommendation)


def call_about_missed_appointments(sender, *, appointment_ids: list, **kwargs) -> None:
    """On "appointments missed" (after commit): the no-shows' calls are planned now (the
    reminders sweep plans any this misses)."""
    from . import services

    services.missed_appointment_calls_create(appointment_ids=appointment_ids)
