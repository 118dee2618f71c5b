import os
import shutil

import pytest
from django.conf import settings
from django.db import connection

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"


def require(available: bool, reason: str) -> None:
    """Skip when a service is missing on a laptop; under CI=true a missing service fails."""
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} — CI=true, so this may not be skipped")
    pytest.skip(reason)


def redis_available() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def pytest_runtest_setup(item):
    if item.get_closest_marker("postgres"):
        require(connection.vendor == "postgresql", "needs PostgreSQL: set DATABASE_URL")
    if item.get_closest_marker("redis"):
        require(redis_available(), "needs Redis: set REDIS_URL to a running server")
    if item.get_closest_marker("faults"):
        require(bool(shutil.which("redis-server")), "needs redis-server on the PATH")
    if item.get_closest_marker("browser"):
        require(os.path.exists(CHROMIUM), f"needs Debian's chromium at {CHROMIUM}")


@pytest.fixture
def advisor(db):
    from tests.factories import UserFactory

    return UserFactory(role="advisor", username="advisor1", last_name="李", first_name="娜")


@pytest.fixture
def manager(db):
    from tests.factories import UserFactory

    return UserFactory(role="manager", username="manager1")


@pytest.fixture
def agent(db):
    from tests.factories import UserFactory

    return UserFactory(role="agent", username="agent1")


@pytest.fixture
def advisor_client(client, advisor):
    client.force_login(advisor)
    return client


@pytest.fixture
def manager_client(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture(autouse=True)
def shop_language():
    """Each test starts in the shop's language: a request in English (a cookie) leaves
    English active in the thread, and text a service writes afterwards (a timeline entry)
    would be English in the next test."""
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def fresh_follow_up_policy_cache():
    """Each test starts from the database's policy, not one cached by an earlier test."""
    from followups.selectors import clear_policy_cache
    from shopcalendar import selectors as calendar

    clear_policy_cache()
    calendar.clear_cache()
    yield
    clear_policy_cache()
    calendar.clear_cache()
