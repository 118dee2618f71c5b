"""Django's ModelBackend with each user's permission set kept in the cache.

Every request that checks a permission costs ModelBackend two joins (the user's own
permissions and their groups'), a third of a small report request. Here the set is read
from the cache with the permissions' version in the same round trip (``get_many``); an entry
written under an older version is ignored. Any change made through Django to who holds
what (a user's groups or permissions, a group's permissions, a group or permission added or
removed) takes a new version at once and again at its commit, so no request after the
change sees the old set. The key carries the user's id, join time and superuser flag;
changes made outside Django (raw SQL) are picked up when the entry expires (TTL).
Inactive and anonymous users have no permissions, as in ModelBackend, without a cache read.

The user row each request loads from its session is cached the same way, under a version of
its own that any user saved or deleted through Django renews (a login, a password or an
``is_active`` change, a rename), so the next request sees the change.
"""

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import BaseBackend, ModelBackend
from django.core.cache import cache
from django.db import transaction

VERSION_KEY = "auth:perms:version"
USERS_VERSION_KEY = "auth:users:version"
TTL = 300  # seconds: the backstop for changes made outside Django


def _key(user) -> str:
    joined = user.date_joined.timestamp() if user.date_joined else 0
    return f"auth:perms:{user.pk}:{joined}:{int(user.is_superuser)}"


def _current_version(cached: dict, name: str = VERSION_KEY) -> str:
    version = cached.get(name)
    if version is None:
        cache.add(name, uuid.uuid4().hex, None)
        version = cache.get(name)
    return version


def _renew(name: str) -> None:
    """A new version now and, for a change inside a transaction, again at its commit: a
    request that read the database before the commit cannot leave the old entry behind."""

    def bump():
        cache.set(name, uuid.uuid4().hex, None)

    bump()
    transaction.on_commit(bump)


def permissions_changed(**_kwargs) -> None:
    _renew(VERSION_KEY)


def users_changed(**_kwargs) -> None:
    _renew(USERS_VERSION_KEY)


class CachedPermissionBackend(ModelBackend):
    def get_user(self, user_id):
        key = f"auth:user:{user_id}"
        cached = cache.get_many([USERS_VERSION_KEY, key])
        version = _current_version(cached, USERS_VERSION_KEY)  # read before the database
        entry = cached.get(key)
        if entry is not None and entry[0] == version:
            user = entry[1]
        else:
            user = get_user_model()._default_manager.filter(pk=user_id).first()
            cache.set(key, (version, user), TTL)
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            key = _key(user_obj)
            cached = cache.get_many([VERSION_KEY, key])
            version = _current_version(cached)  # read before the database, stored with it
            entry = cached.get(key)
            if entry is not None and entry[0] == version:
                permissions = set(entry[1])
            else:
                permissions = BaseBackend.get_all_permissions(self, user_obj)
                cache.set(key, (version, sorted(permissions)), TTL)
            user_obj._perm_cache = permissions
        return user_obj._perm_cache


def connect_signals() -> None:
    from django.contrib.auth.models import Group, Permission
    from django.db.models.signals import m2m_changed, post_delete, post_save

    user_model = get_user_model()
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(permissions_changed, sender=through, dispatch_uid=f"perms-{through}")
    for model in (Group, Permission):
        post_save.connect(permissions_changed, sender=model, dispatch_uid=f"perms-save-{model}")
        post_delete.connect(permissions_changed, sender=model, dispatch_uid=f"perms-del-{model}")
    post_save.connect(users_changed, sender=user_model, dispatch_uid="users-save")
    post_delete.connect(users_changed, sender=user_model, dispatch_uid="users-delete")
