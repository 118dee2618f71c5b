"""Who may use the API: token clients of the dms_client role sync and read back; staff in
the browser read back what their role may view (phones masked)."""

from rest_framework.permissions import BasePermission

from complaints import access as complaint_access
from shopcrm.access import has_perm

SYNC = "api.sync_dms"
READ = "api.read_api"


class CanSync(BasePermission):
    def has_permission(self, request, view) -> bool:
        return has_perm(request.user, SYNC)


class CanReadBack(BasePermission):
    def has_permission(self, request, view) -> bool:
        return has_perm(request.user, READ) or has_perm(request.user, view.model_permission)


HOTLINE = complaint_access.VIA_API


class CanCreateComplaint(BasePermission):
    """Token clients of the hotline role, and staff who take complaints."""

    def has_permission(self, request, view) -> bool:
        return has_perm(request.user, HOTLINE) or has_perm(request.user, complaint_access.ADD)


class CanReadComplaints(CanReadBack):
    def has_permission(self, request, view) -> bool:
        return has_perm(request.user, HOTLINE) or super().has_permission(request, view)


def sees_full_phones(user) -> bool:
    """The DMS sent the numbers and gets them back; everyone else sees them masked."""
    return has_perm(user, READ)
