"""Permission sets cached per user (shopcrm.auth) and the shared Redis client
(shopcrm.cache): a change to who holds what is seen by the very next check."""

import threading

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.urls import reverse

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


def backend():
    return auth.CachedPermissionBackend()


def test_the_session_user_is_served_from_the_cache_until_it_changes(django_assert_num_queries):
    user = UserFactory(username="desk-1")
    assert backend().get_user(user.pk).username == "desk-1"
    with django_assert_num_queries(0):
        assert backend().get_user(user.pk).username == "desk-1"
    user.username = "desk-1b"  # any save through Django: a new version, read afresh
    user.save()
    assert backend().get_user(user.pk).username == "desk-1b"
    user.is_active = False
    user.save()
    assert backend().get_user(user.pk) is None
    user.is_active = True
    user.save()
    assert backend().get_user(user.pk) is not None
    pk = user.pk
    user.delete()
    assert backend().get_user(pk) is None
    assert backend().get_user(10**9) is None  # no such user: cached as none, still none


def test_a_user_changed_in_raw_sql_waits_for_the_entry_or_any_django_change():
    user = UserFactory(username="desk-2")
    assert backend().get_user(user.pk) is not None
    with connection.cursor() as cursor:
        cursor.execute("UPDATE auth_user SET is_active = false WHERE id = %s", [user.pk])
    assert backend().get_user(user.pk) is not None  # the documented window (TTL)
    UserFactory(username="desk-3")  # any user saved through Django
    assert backend().get_user(user.pk) is None


def test_deactivated_or_new_password_ends_the_session_at_the_next_request(client):
    user = UserFactory(username="desk-4", role="advisor")
    user.set_password("old-secret-4")
    user.save()

    def signed_in():
        return reverse("login") not in client.get("/", follow=True).redirect_chain[-1][0]

    client.post(reverse("login"), {"username": "desk-4", "password": "old-secret-4"})
    assert signed_in()
    user.set_password("new-secret-4")  # the session's hash no longer matches
    user.save()
    assert not signed_in()
    client.post(reverse("login"), {"username": "desk-4", "password": "new-secret-4"})
    assert signed_in()
    user.is_active = False
    user.save()
    assert not signed_in()


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
