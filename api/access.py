"""Who may use the API: token clients of the dms_client role sync and read back; staff in
the browser read back what their role may view (phones masked)."""

from rest_framework.permissions import BasePermission

from complaints import access as complaint_access
from shopcrm.access import has_perm

from .models import ApiToken

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


def hotline_only(user) -> bool:
    """The OEM hotline's token: it creates complaints and reads back only its own, without
    the shop's customer ids (nothing to learn about who is a customer)."""
    return has_perm(user, HOTLINE) and not (
        has_perm(user, READ) or has_perm(user, complaint_access.VIEW)
    )


def sees_full_phones(request) -> bool:
    """The DMS sent the numbers and gets them back, through its token; everyone else sees
    them masked, a browser session included (an administrator's too: pages reveal one
    number at a time, recorded)."""
    return isinstance(request.auth, ApiToken) and has_perm(request.user, READ)
