"""Who may read the reports (managers, and token clients given the permission): the
dashboard's pages, its exports and the reports API ask here."""

from shopcrm.access import has_perm

VIEW = "reports.view_reports"


def can_read_reports(user) -> bool:
    return has_perm(user, VIEW)


OWN_SCORECARD = "reports.view_own_scorecard"


def scorecard_advisor_for(user, requested: int | None) -> int | None:
    """Which advisor's scorecard ``user`` may read when asking for ``requested`` (None:
    every advisor): a manager any of them; an advisor only their own, whatever they ask
    for — another advisor's is refused (403); anyone else is refused."""
    from django.core.exceptions import PermissionDenied

    if can_read_reports(user):
        return requested
    if not has_perm(user, OWN_SCORECARD):
        raise PermissionDenied
    if requested is not None and requested != user.pk:
        raise PermissionDenied
    return user.pk
