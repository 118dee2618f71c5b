"""API rate limits (api/throttling.py): a counter per client and window, every request
counted even when they arrive together, a clear 429 with Retry-After past the limit."""

import threading

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches

from api.throttling import UserRateThrottle, count_request

PATH = "/api/v1/customers/"


@pytest.fixture
def two_a_minute(monkeypatch):
    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/min", "anon": "2/min"})
    clock = {"now": 60 * 16_667 + 20.0}  # 20 s into a minute
    monkeypatch.setattr(UserRateThrottle, "timer", lambda self: clock["now"])
    return clock


def test_the_limit_then_a_new_window(dms, two_a_minute):
    assert [dms.get(PATH).status_code for _ in range(3)] == [200, 200, 429]
    refused = dms.get(PATH)
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "40"
    assert "请求已被限流" in refused.json()["detail"]
    two_a_minute["now"] += 40  # the next minute
    assert dms.get(PATH).status_code == 200


def test_clients_are_counted_apart(dms, two_a_minute, db):
    from rest_framework.test import APIClient

    from tests.factories import UserFactory, api_key

    other = APIClient()
    key = api_key(UserFactory(role="dms_client", username="dms-other"))
    other.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert [dms.get(PATH).status_code for _ in range(3)] == [200, 200, 429]
    assert other.get(PATH).status_code == 200


def counted_together(threads: int, each: int) -> int:
    def work():
        for _ in range(each):
            count_request("throttle-test", 60)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return count_request("throttle-test", 60) - 1


def test_local_caches_count_every_request(settings):
    caches["default"].delete("throttle-test")
    assert count_request("throttle-test", 60) == 1
    assert count_request("throttle-test", 60) == 2
    caches["default"].delete("throttle-test")


@pytest.mark.redis
def test_redis_counts_every_request_of_concurrent_clients(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "shopcrm.cache.RedisCache",
            "LOCATION": django_settings.REDIS_URL,
            "KEY_PREFIX": "throttle-test",
        }
    }
    cache = caches["default"]
    cache.delete("throttle-test")
    assert counted_together(threads=8, each=25) == 200
    ttl = cache._cache.get_client().ttl(cache.make_key("throttle-test"))
    assert 0 < ttl <= 60  # the window's counter expires
    cache.delete("throttle-test")
