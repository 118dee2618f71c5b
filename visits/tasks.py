from celery import shared_task

from . import services


@shared_task(name="visits.tasks.sweep_no_show_appointments", time_limit=60, soft_time_limit=50)
def sweep_no_show_appointments() -> int:
    """Beat sweep: appointments past their time by the grace period become no-shows."""
    return services.appointment_mark_no_shows()


@shared_task(name="visits.tasks.sweep_customer_advisors", time_limit=120, soft_time_limit=100)
def sweep_customer_advisors() -> int:
    """Beat sweep: customers left without their own advisor get their first visit's."""
    return services.customer_advisor_from_first_visit()
