"""Permission sets cached per user (shopcrm.auth) and the shared Redis client
(shopcrm.cache): a change to who holds what is seen by the very next check."""

import threading

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection

from shopcrm import auth
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
REPORTS = "reports.view_reports"


def fresh(user):
    """The user as the next request loads them (no per-object permission cache)."""
    return get_user_model().objects.get(pk=user.pk)


@pytest.fixture
def reports_group():
    group = Group.objects.create(name="报表查看")
    group.permissions.add(Permission.objects.get(codename="view_reports"))
    return group


def test_group_membership_changes_are_seen_at_once(reports_group):
    user = UserFactory(username="reader-1")
    assert not fresh(user).has_perm(REPORTS)  # cached: no reports
    user.groups.add(reports_group)
    assert fresh(user).has_perm(REPORTS)
    reports_group.user_set.remove(user)  # from the other side of the relation
    assert not fresh(user).has_perm(REPORTS)


def test_group_and_user_permission_changes_are_seen_at_once(reports_group):
    user = UserFactory(username="reader-2")
    user.groups.add(reports_group)
    assert fresh(user).has_perm(REPORTS)
    reports_group.permissions.clear()
    assert not fresh(user).has_perm(REPORTS)
    user.user_permissions.add(Permission.objects.get(codename="view_reports"))
    assert fresh(user).has_perm(REPORTS)
    Group.objects.create(name="另一组")  # any group change takes a new version too
    Permission.objects.get(codename="view_reports").delete()
    assert not fresh(user).has_perm(REPORTS)


def test_the_set_is_served_from_the_cache_until_a_change(reports_group, django_assert_num_queries):
    user = UserFactory(username="reader-3")
    user.groups.add(reports_group)
    assert fresh(user).has_perm(REPORTS)
    loaded = fresh(user)
    with django_assert_num_queries(0):
        assert loaded.has_perm(REPORTS)
        assert not loaded.has_perm("complaints.delete_complaint")
    # A change the signals cannot see (raw SQL) waits for the entry's expiry …
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM auth_group_permissions WHERE group_id = %s", [reports_group.pk])
    assert fresh(user).has_perm(REPORTS)
    # … or for any change made through Django.
    auth.permissions_changed()
    assert not fresh(user).has_perm(REPORTS)


def test_inactive_users_and_superusers():
    user = UserFactory(username="reader-4")
    user.is_superuser = True
    user.save()
    assert fresh(user).has_perm(REPORTS)  # a superuser's key is not a plain user's
    user.is_superuser = False
    user.save()
    assert not fresh(user).has_perm(REPORTS)
    user.is_superuser, user.is_active = True, False
    user.save()
    assert not fresh(user).has_perm(REPORTS)


def test_a_set_read_before_a_change_is_not_kept_after_it(reports_group, monkeypatch):
    """A request that read the database before a change stores what it read under the
    version it saw; the change's new version makes that entry unused."""
    user = UserFactory(username="reader-5")
    user.groups.add(reports_group)
    real = auth.BaseBackend.get_all_permissions

    def read_then_change_lands(backend, user_obj, obj=None):
        permissions = real(backend, user_obj)
        reports_group.permissions.clear()  # lands while this request is between read and set
        return permissions

    monkeypatch.setattr(auth.BaseBackend, "get_all_permissions", read_then_change_lands)
    assert fresh(user).has_perm(REPORTS)
    monkeypatch.setattr(auth.BaseBackend, "get_all_permissions", real)
    assert not fresh(user).has_perm(REPORTS)


@pytest.mark.redis
def test_the_redis_cache_shares_one_client_between_threads():
    from shopcrm.cache import RedisCache

    cache = RedisCache(settings.REDIS_URL, {"KEY_PREFIX": "test-cache"})
    client = cache._cache.get_client()
    assert cache._cache.get_client() is client
    errors = []

    def work(n):
        try:
            for i in range(50):
                cache.set(f"k{n}:{i}", [n, i], 30)
                assert cache.get(f"k{n}:{i}") == [n, i]
            assert cache.get_many([f"k{n}:0", f"k{n}:49"]) == {
                f"k{n}:0": [n, 0],
                f"k{n}:49": [n, 49],
            }
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    cache.delete_many([f"k{n}:{i}" for n in range(8) for i in range(50)])
