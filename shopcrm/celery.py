"""The Celery app: the clock of shopcrm. PostgreSQL stays the truth (DESIGN.md)."""

import logging
import os
import time

from celery import Celery
from django.db import transaction
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shopcrm.settings")

app = Celery("shopcrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
logger = logging.getLogger("shopcrm.celery")


# What a broker that is down or hung raises: kombu wraps the transport's errors in its
# OperationalError; a socket error or a timeout may come through as it is.
BROKER_ERRORS = (KombuError, OSError, RedisError)
# After the broker failed, the process does not try it again for this long: a batch of a
# thousand deliveries then costs one failed connection, not a thousand.
BROKER_BACKOFF_SECONDS = 10.0
_broker_down_until = 0.0


def enqueue(name: str, *args) -> bool:
    """Send the task ``name`` to the broker; False (and a log line) when the broker cannot
    take it. The fast path only: every effect a task has is also made by a beat sweep that
    reads the database (docs/architecture.md, "Effects that cannot be lost"), so a broker
    error never undoes or fails the write that asked for it. One try, no waiting (the
    broker's connection options in settings bound a try)."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        logger.info("broker down: %s%r not queued, the sweep will do it", name, args)
        return False
    try:
        app.signature(name, args=args).apply_async(retry=False)
    except BROKER_ERRORS:  # not a task's own error (eager in tests): that one propagates
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        logger.warning("broker unavailable: %s%r not queued, the sweep will do it", name, args)
        return False
    return True


def enqueue_on_commit(name: str, *args) -> None:
    """``enqueue`` once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: enqueue(name, *args), robust=True)
