"""Who may see and work a complaint, and loading one by id: pages and the API ask here."""

from shopcrm.access import has_perm, object_for

from .models import Complaint

VIEW = "complaints.view_complaint"
ADD = "complaints.add_complaint"
MANAGE = "complaints.manage_complaint"
EXPORT = "complaints.export_complaint"
VIA_API = "complaints.create_via_api"  # the OEM hotline integration's token role


def can_work(user, complaint) -> bool:
    """The owner (首问负责人), the person it is assigned to, or a manager."""
    return has_perm(user, MANAGE) or user.pk in (complaint.owner_id, complaint.assignee_id)


def can_manage(user) -> bool:
    return has_perm(user, MANAGE)


def complaint_for(user, pk, *, manage: bool = False, work: bool = False) -> Complaint:
    """The complaint ``pk`` for ``user``: to see it, to work it (owner, assignee or a
    manager) or to manage it (managers)."""
    allowed = None
    if manage:
        allowed = lambda user, complaint: can_manage(user)  # noqa: E731
    elif work:
        allowed = can_work
    return object_for(user, Complaint, pk, permission=VIEW, allowed=allowed)
