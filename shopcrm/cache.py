"""Django's Redis cache, keeping one client per connection pool.

Django's RedisCacheClient builds a new ``redis.Redis`` for every cache call, and redis-py's
constructor fills a table of ~500 response callbacks each time: a few hundred microseconds a
call, several calls a request (sessions, permissions, API throttling). A ``redis.Redis`` on a
connection pool is safe to share between threads (each command borrows a connection from the
pool, and the pool notices a fork), so one is made per pool and kept."""

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
