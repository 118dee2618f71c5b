from celery import shared_task

from . import services


@shared_task(name="visits.tasks.sweep_no_show_appointments", time_limit=60, soft_time_limit=50)
def sweep_no_show_appointments() -> int:
    """Beat sweep: appointments past their time by the grace period become no-shows."""
    return services.appointment_mark_no_shows()
