"""Access checks shared by pages (and later the API).

Anonymous users are sent to the login page; a signed-in user without the permission
gets 403, never a 500 or a silent redirect.
"""

from django.contrib.auth.mixins import PermissionRequiredMixin


class PermissionRequired(PermissionRequiredMixin):
    """Declare ``permission_required`` on a view; 403 for a signed-in user without it."""


def has_perm(user, permission: str) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(permission))
