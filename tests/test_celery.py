"""Celery for real: a worker process on Redis runs the no-show sweep against PostgreSQL.

The sweep is sent twice through the broker; the second run must change nothing.
"""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from shopcrm.celery import app
from tests.factories import AppointmentFactory
from visits.models import Appointment

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]


@pytest.fixture
def worker():
    """A real worker on its own queue, reading the test database."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    database = connection.settings_dict
    credentials = f"{database['USER']}:{database['PASSWORD'] or ''}"
    database_url = (
        f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "shopcrm.settings",
        "DATABASE_URL": database_url,
        "REDIS_URL": settings.REDIS_URL,
    }
    celery = str(Path(sys.executable).parent / "celery")
    process = subprocess.Popen(
        [
            celery,
            "-A",
            "shopcrm",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--hostname",
            f"{queue}@localhost",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield queue
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_for(predicate, timeout=45):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_worker_runs_the_sweep_and_a_second_run_changes_nothing(worker):
    now = timezone.now()
    late = AppointmentFactory(scheduled_at=now - timedelta(hours=3))
    on_time = AppointmentFactory(scheduled_at=now + timedelta(hours=1))

    # send_task goes through the broker even though tests run other tasks eagerly.
    first = app.send_task("visits.tasks.sweep_no_show_appointments", queue=worker)
    assert wait_for(
        lambda: Appointment.objects.get(pk=late.pk).status == Appointment.Status.NO_SHOW
    ), "the worker did not run the sweep"
    snapshot = list(
        Appointment.objects.order_by("pk").values("pk", "status", "updated_at", "status_changed_at")
    )

    marker = AppointmentFactory(
        scheduled_at=now - timedelta(hours=4)
    )  # proves the second run happened
    second = app.send_task("visits.tasks.sweep_no_show_appointments", queue=worker)
    assert wait_for(
        lambda: Appointment.objects.get(pk=marker.pk).status == Appointment.Status.NO_SHOW
    )
    after = list(
        Appointment.objects.exclude(pk=marker.pk)
        .order_by("pk")
        .values("pk", "status", "updated_at", "status_changed_at")
    )
    assert after == snapshot
    assert Appointment.objects.get(pk=on_time.pk).status == Appointment.Status.BOOKED
    assert first.id != second.id


def test_beat_schedules_the_sweep():
    import visits.tasks  # noqa: F401  (registers the task as the worker does)

    entry = settings.CELERY_BEAT_SCHEDULE["visits-mark-no-shows"]
    assert entry["task"] in app.tasks
    assert entry["schedule"] <= 300
