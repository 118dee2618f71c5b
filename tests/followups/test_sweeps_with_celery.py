"""Sweeps through real Celery on Redis against PostgreSQL: twice, two at once, and a worker
killed with SIGKILL in the middle of one — each follow-up task exists exactly once."""

import os
import signal
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer, Vehicle
from followups import services
from followups.models import FollowUpTask
from shopcrm.celery import app
from tests.celery_support import start_worker, stop_worker, wait_for
from tests.factories import AppointmentFactory, valid_vin
from visits.models import Appointment, Visit

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
    pytest.mark.filterwarnings("ignore::celery.exceptions.AlwaysEagerIgnored"),
]
SWEEP = "followups.tasks.sweep_reminders_and_win_backs"


def lapsed_customers(count: int) -> None:
    """Customers whose only visit was delivered 400 days ago: each is due one win-back call."""
    delivered = timezone.now() - timedelta(days=400)
    customers = Customer.objects.bulk_create(
        [Customer(name=f"流失{n}", phone=f"+86136{n:08d}") for n in range(count)]
    )
    vehicles = Vehicle.objects.bulk_create(
        [Vehicle(owner=c, vin=valid_vin(700_000 + n), plate="") for n, c in enumerate(customers)]
    )
    Visit.objects.bulk_create(
        [
            Visit(
                ro_number=f"ROWB{n:06d}",
                vehicle=v,
                customer_id=v.owner_id,
                service_type="maintenance",
                status="delivered",
                checked_in_at=delivered - timedelta(hours=2),
                promised_at=delivered,
                delivered_at=delivered,
                total_amount=Decimal(300),
            )
            for n, v in enumerate(vehicles)
        ]
    )


def win_backs() -> int:
    return FollowUpTask.objects.filter(kind=FollowUpTask.Kind.WIN_BACK).count()


def assert_each_once(expected: int) -> None:
    keys = list(FollowUpTask.objects.values_list("kind", "source_key"))
    assert len(keys) == len(set(keys))
    assert win_backs() == expected


def test_the_sweep_run_twice_by_a_real_worker_creates_nothing_twice():
    lapsed_customers(40)
    process, queue = start_worker()
    try:
        app.send_task(SWEEP, queue=queue)
        assert wait_for(lambda: win_backs() == 40)
        app.send_task(SWEEP, queue=queue)
        # The solo worker runs tasks in order: once the marker has run, the second sweep has too.
        late = AppointmentFactory(scheduled_at=timezone.now() - timedelta(hours=3))
        app.send_task("visits.tasks.sweep_no_show_appointments", queue=queue)
        assert wait_for(lambda: Appointment.objects.get(pk=late.pk).status == "no_show")
    finally:
        stop_worker(process)
    assert_each_once(40)


def test_two_beats_at_once_create_each_task_once():
    lapsed_customers(150)
    process, queue = start_worker(pool="prefork", concurrency=2)
    try:
        app.send_task(SWEEP, queue=queue)
        app.send_task(SWEEP, queue=queue)  # a second beat firing the same sweep at once
        assert wait_for(lambda: win_backs() == 150)
    finally:
        stop_worker(process)  # a warm shutdown: both running sweeps finish first
    assert_each_once(150)


def test_two_sweeps_in_parallel_threads_create_each_task_once():
    lapsed_customers(100)
    barrier, errors = threading.Barrier(2), []

    def sweep():
        try:
            barrier.wait()
            services.win_back_create_due()
        except Exception as exc:  # asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert_each_once(100)


def test_a_worker_killed_mid_sweep_then_run_again_creates_nothing_twice():
    total = 1500
    lapsed_customers(total)
    process, queue = start_worker()
    try:
        app.send_task(SWEEP, queue=queue)
        assert wait_for(lambda: win_backs() > 0, every=0.01), "the sweep never started"
        os.kill(process.pid, signal.SIGKILL)  # kill -9, half-way through
        process.wait(timeout=10)
    finally:
        stop_worker(process)
    half = win_backs()
    assert 0 < half < total, "the worker should have died mid-sweep"
    process, queue = start_worker()  # the next beat's sweep, on a fresh worker
    try:
        app.send_task(SWEEP, queue=queue)
        assert wait_for(lambda: win_backs() == total, timeout=240)
    finally:
        stop_worker(process)
    assert_each_once(total)
