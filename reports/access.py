"""Who may read the reports (managers, and token clients given the permission): the
dashboard's pages, its exports and the reports API ask here."""

from shopcrm.access import has_perm

VIEW = "reports.view_reports"


def can_read_reports(user) -> bool:
    return has_perm(user, VIEW)
