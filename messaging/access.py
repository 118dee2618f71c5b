"""Who may see the outbox: administrators, in the Django admin (no page of its own)."""

from shopcrm.access import has_perm

VIEW = "messaging.view_message"


def can_see_outbox(user) -> bool:
    return has_perm(user, VIEW)
