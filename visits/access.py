"""Who may see and do what with visits and appointments."""

from shopcrm.access import has_perm

VIEW = "visits.view_visit"
CHECK_IN = "visits.add_visit"
CHANGE = "visits.change_visit"


def can_change_visit(user, visit) -> bool:
    return has_perm(user, CHANGE)
