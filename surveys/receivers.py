from shopcrm.celery import enqueue_on_commit

from . import tasks


def schedule_invitation(sender, *, visit_id: int, source: str, **kwargs) -> None:
    """On "visit delivered" (sent after commit): enqueue the task that schedules the survey
    (the fast path: the invitations sweep creates it if the broker loses it)."""
    enqueue_on_commit(tasks.create_invitation.name, visit_id)


def skip_refused_invitations(sender, *, customer_ids: set, **kwargs) -> None:
    """On "contact withdrawn" (inside the changing transaction): invitations not yet sent
    that the contact rules now refuse are skipped, with the reason."""
    from . import services

    services.invitation_skip_refused(customer_ids=customer_ids)


def invitation_not_delivered(sender, *, message, **kwargs) -> None:
    """On "message gave up" (messaging.events): the invitation it carried was not
    delivered (a reminder that gave up changes nothing: the invitation went out)."""
    from . import services

    if message.purpose == services.INVITATION_KEY:
        services.invitation_mark_undelivered(object_key=message.object_key)


def invitation_resent(sender, *, message, **kwargs) -> None:
    """On "message retried": the invitation counts as sent again."""
    from . import services

    if message.purpose == services.INVITATION_KEY:
        services.invitation_mark_resent(object_key=message.object_key)
