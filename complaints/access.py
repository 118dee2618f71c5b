"""Who may see and work a complaint: pages and the API ask here."""

from shopcrm.access import has_perm

VIEW = "complaints.view_complaint"
ADD = "complaints.add_complaint"
MANAGE = "complaints.manage_complaint"
EXPORT = "complaints.export_complaint"


def can_work(user, complaint) -> bool:
    """The owner (首问负责人), the person it is assigned to, or a manager."""
    return has_perm(user, MANAGE) or user.pk in (complaint.owner_id, complaint.assignee_id)


def can_manage(user) -> bool:
    return has_perm(user, MANAGE)
