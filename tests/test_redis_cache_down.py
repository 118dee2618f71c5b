"""shopcrm.cache.RedisCache with Redis down (issue 15, part 2): reads miss, writes are
dropped, the outage is logged once and Redis is left alone for a while; API throttling lets
requests through. The whole app with Redis killed: tests/faults/test_redis_down.py."""

import logging

import pytest
from django.core.cache import caches
from django.test import override_settings

from api.throttling import count_request
from shopcrm import cache as cache_module
from tests.faults.processes import free_port

DEAD = {
    "default": {
        "BACKEND": "shopcrm.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.fixture
def dead_redis(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(cache_module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(cache_module.redis_down, "until", 0.0)
    with override_settings(CACHES=DEAD):
        yield clock
    caches["default"].close()


def test_every_operation_answers_as_a_miss(dead_redis, caplog):
    cache = caches["default"]
    with caplog.at_level(logging.WARNING, logger="shopcrm.cache"):
        assert cache.get("k", "default") == "default"
        assert cache.get_many(["a", "b"]) == {}
        assert cache.set("k", 1) is None and cache.add("k", 1) is False
        assert cache.get_or_set("v", lambda: "fresh") == "fresh"
        cache.set_many({"a": 1})
        assert cache.delete("k") is False and cache.has_key("k") is False
        cache.delete_many(["a"])
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "Redis unavailable" in caplog.records[0].message


def test_redis_is_left_alone_during_the_back_off_then_asked_again(dead_redis):
    cache = caches["default"]
    cache.get("k")  # fails: the back-off starts
    asked = []
    get_client = cache._cache.get_client
    cache._cache.get_client = lambda *args, **kwargs: asked.append(1) or get_client(*args, **kwargs)
    cache.get("k")
    cache.set("k", 1)
    assert asked == []  # within the back-off: not even tried
    dead_redis[0] += cache_module.RedisDown.BACKOFF_SECONDS + 1
    assert cache.get("k", "miss") == "miss"
    assert asked == [1]


def test_api_throttling_fails_open(dead_redis):
    assert count_request("throttle:user:1:42", 60) == 0
    assert count_request("throttle:user:1:42", 60) == 0
