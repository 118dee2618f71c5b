"""Django's Redis cache, keeping one client per connection pool.

Django's RedisCacheClient builds a new ``redis.Redis`` for every cache call, and redis-py's
constructor fills a table of ~500 response callbacks each time: a few hundred microseconds a
call, several calls a request (sessions, permissions, API throttling). A ``redis.Redis`` on a
connection pool is safe to share between threads (each command borrows a connection from the
pool, and the pool notices a fork), so one is made per pool and kept.

With Redis down the cache misses instead of raising (``_fail_soft``): nothing in it is the
only copy, so signed-in pages, the login and the API go on at database speed.

Also the short in-process cache of the settings read on every call and message (the
follow-up policy, the shop's hours and holidays)."""

import logging
import time
from collections.abc import Callable, Hashable

import redis
from django.core.cache import caches
from django.core.cache.backends import redis as django_redis

logger = logging.getLogger("shopcrm.cache")


class RedisDown:
    """Whether this process should leave Redis alone for now: after a connection error it
    is not asked again for ``BACKOFF_SECONDS`` (a hung Redis would otherwise cost every
    request its timeouts), and the first failure of each outage is logged."""

    BACKOFF_SECONDS = 5.0
    ERRORS = (redis.ConnectionError, redis.TimeoutError)

    def __init__(self):
        self.until = 0.0

    def now(self) -> bool:
        return time.monotonic() < self.until

    def failed(self, error: Exception) -> None:
        if not self.now():
            logger.warning("Redis unavailable (%s): the cache misses for now", error)
        self.until = time.monotonic() + self.BACKOFF_SECONDS


redis_down = RedisDown()


def _fail_soft(default):
    """A cache operation that answers ``default`` instead of raising when Redis is down:
    the cache is only ever a copy (sessions are in the database, permissions and figures are
    read again), so a request goes on without it."""

    def decorate(method):
        def operation(self, *args, **kwargs):
            if redis_down.now():
                return default(*args) if callable(default) else default
            try:
                return method(self, *args, **kwargs)
            except RedisDown.ERRORS as error:
                redis_down.failed(error)
                return default(*args) if callable(default) else default

        return operation

    return decorate


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

    # Redis down: reads miss, writes are dropped (Django's own RedisCache raises).
    get = _fail_soft(lambda key, default: default)(django_redis.RedisCacheClient.get)
    get_many = _fail_soft(lambda keys: {})(django_redis.RedisCacheClient.get_many)
    has_key = _fail_soft(False)(django_redis.RedisCacheClient.has_key)
    add = _fail_soft(False)(django_redis.RedisCacheClient.add)
    set = _fail_soft(None)(django_redis.RedisCacheClient.set)
    set_many = _fail_soft(lambda data, timeout: list(data))(django_redis.RedisCacheClient.set_many)
    touch = _fail_soft(False)(django_redis.RedisCacheClient.touch)
    delete = _fail_soft(False)(django_redis.RedisCacheClient.delete)
    delete_many = _fail_soft(None)(django_redis.RedisCacheClient.delete_many)
    clear = _fail_soft(False)(django_redis.RedisCacheClient.clear)


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


def count_request(key: str, duration: int) -> int:
    """Add one to ``key`` (created with a lifetime of ``duration`` seconds) and return it:
    the counter of a fixed window (api.throttling, the public survey page). Redis: SET NX
    with expiry and INCR in one round trip. Redis down: 0, nothing is limited (fail open)."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        if redis_down.now():
            return 0  # fail open: the limit protects the server, Redis down must not stop it
        full_key = cache.make_and_validate_key(key)
        client = cache._cache.get_client(full_key, write=True)
        pipeline = client.pipeline(transaction=False)
        pipeline.set(full_key, 0, ex=duration, nx=True)
        pipeline.incr(full_key)
        try:
            return pipeline.execute()[1]
        except RedisDown.ERRORS as error:
            redis_down.failed(error)
            return 0
    # Other caches (the file cache of the zero-setup run, the tests' local memory).
    cache.add(key, 0, duration)
    try:
        return cache.incr(key)
    except ValueError:  # expired between the two steps: a new window
        cache.add(key, 1, duration)
        return 1


def public_page_too_busy(request, page: str) -> bool:
    """The customers' public pages (the survey, the repair's status) take at most
    SURVEY_PAGE_RATE requests a minute from one address: customers behind a carrier's NAT
    share one, so the limit is generous; it stops a script hammering the page (the long
    random token stops guessing)."""
    from axes.helpers import get_client_ip_address
    from django.conf import settings

    address = get_client_ip_address(request) or "unknown"
    window = int(time.time() // 60)
    return count_request(f"{page}-page:{address}:{window}", 61) > settings.SURVEY_PAGE_RATE
