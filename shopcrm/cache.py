"""Django's Redis cache, keeping one client per connection pool.

Django's RedisCacheClient builds a new ``redis.Redis`` for every cache call, and redis-py's
constructor fills a table of ~500 response callbacks each time: a few hundred microseconds a
call, several calls a request (sessions, permissions, API throttling). A ``redis.Redis`` on a
connection pool is safe to share between threads (each command borrows a connection from the
pool, and the pool notices a fork), so one is made per pool and kept.

Also the short in-process cache of the settings read on every call and message (the
follow-up policy, the shop's hours and holidays)."""

import time
from collections.abc import Callable, Hashable

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient


class ProcessCache:
    """Values kept in this process for ``seconds`` (dropped at once by ``clear``, which a
    post_save receiver calls in the process that saved): an administrator's change reaches
    every process within ``seconds``. At most ``max_entries`` keys: past that the expired
    ones go, and if none had expired, everything (a worker running for weeks asks for
    ever new holiday ranges)."""

    def __init__(self, seconds: float, max_entries: int = 256):
        self.seconds, self.max_entries = seconds, max_entries
        self._entries: dict = {}

    def get(self, key: Hashable, load: Callable):
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit and hit[0] > now:
            return hit[1]
        value = load()
        if len(self._entries) >= self.max_entries:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            if len(self._entries) >= self.max_entries:
                self._entries = {}
        self._entries[key] = (now + self.seconds, value)
        return value

    def clear(self, *args, **kwargs) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
