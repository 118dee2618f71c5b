"""Thin Celery tasks: load by id, call one service. Each is safe to run twice."""

from celery import shared_task

from . import services

LIMITS = {"time_limit": 120, "soft_time_limit": 100}


@shared_task(
    name="surveys.tasks.create_invitation",
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
    **LIMITS,
)
def create_invitation(visit_id: int) -> int | None:
    invitation = services.invitation_create_for_visit(visit_id=visit_id)
    return invitation.pk if invitation else None


@shared_task(name="surveys.tasks.sweep_invitations", **LIMITS)
def sweep_invitations() -> dict:
    return services.invitation_sweep_due()
