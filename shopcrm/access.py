"""Access checks shared by pages and the API; each app's access.py builds on these.

Anonymous users are sent to the login page; a signed-in user without the permission
gets 403, never a 500 or a silent redirect; an id that names nothing is a 404.
"""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404


class PermissionRequired(PermissionRequiredMixin):
    """Declare ``permission_required`` on a view; 403 for a signed-in user without it."""


def has_perm(user, permission: str) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(permission))


def id_or_none(value) -> int | None:
    """An id from a query string or a hidden field; junk is treated as absent, not a 500."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def object_for(user, queryset, pk, *, permission: str | None = None, allowed=None):
    """The object with id ``pk`` from ``queryset`` (a model or a queryset), loaded for
    ``user``: 404 for an id that is junk or matches nothing, 403 when the user lacks
    ``permission`` or ``allowed(user, obj)`` says no. Each app's access helpers call this,
    so pages, forms with ``?id=`` parameters, exports and the API load objects one way."""
    found = find_for(user, queryset, pk, permission=permission, allowed=allowed)
    if found is None:
        raise Http404
    return found


def find_for(user, queryset, pk, *, permission: str | None = None, allowed=None):
    """As ``object_for``, but None for an id that is junk or matches nothing."""
    if permission and not has_perm(user, permission):
        raise PermissionDenied
    pk = id_or_none(pk)
    if pk is None:
        return None
    manager = queryset._default_manager if isinstance(queryset, type) else queryset
    found = manager.filter(pk=pk).first()
    if found is not None and allowed is not None and not allowed(user, found):
        raise PermissionDenied
    return found


def objects_for(user, queryset, pks, *, permission: str | None = None):
    """The objects of ``queryset`` (a model or a queryset) whose ids are among ``pks`` (a
    form's checked boxes), if ``user`` has ``permission``; junk ids are left out."""
    if permission and not has_perm(user, permission):
        raise PermissionDenied
    ids = {pk for pk in map(id_or_none, pks) if pk is not None}
    manager = queryset._default_manager if isinstance(queryset, type) else queryset
    return manager.filter(pk__in=ids)
