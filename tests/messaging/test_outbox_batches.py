"""Sending never starves the events and sweeps (issue 16, bug 4). On a first start the demo's
~1,440 reminder SMS were queued as a Celery task each, on the one queue the events and the
beat's sweeps use; on the embedded broker they went out about two a second and a car
delivered meanwhile got its call ten minutes late. Now a sweep's messages wait for one
due-messages task, which sends in chunks for a bounded time, and the outbox has a queue of
its own (the fault test `tests/faults/test_first_start_backlog.py` runs the real processes)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from followups import services as followup_services
from messaging import services
from messaging.backends import LocmemBackend
from messaging.models import Message
from shopcrm.celery import app
from surveys import services as survey_services
from tests.factories import CustomerFactory, VehicleFactory, VisitFactory, contact_all_day
from tests.surveys.conftest import make_delivered_visit
from visits.models import Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def empty_outbox():
    LocmemBackend.outbox.clear()
    yield
    LocmemBackend.outbox.clear()


@pytest.fixture
def all_day(db):
    contact_all_day()


@pytest.fixture
def queued_tasks(monkeypatch) -> list:
    """The names of the tasks the outbox asks for (instead of running them eagerly)."""
    names: list = []
    monkeypatch.setattr(services, "enqueue_on_commit", lambda name, *args: names.append(name))
    return names


def due_for_a_reminder(today, consent: bool = True) -> None:
    customer = CustomerFactory(marketing_consent=consent)
    vehicle = VehicleFactory(owner=customer, registration_date=today - timedelta(days=400))
    delivered = timezone.now() - timedelta(days=176)
    VisitFactory(
        vehicle=vehicle,
        customer=customer,
        status=Visit.Status.DELIVERED,
        odometer_km=4000,
        checked_in_at=delivered - timedelta(hours=2),
        delivered_at=delivered,
    )


def test_the_reminder_sweep_asks_for_one_send_task_not_one_per_message(queued_tasks):
    today = timezone.localdate()
    for _ in range(5):
        due_for_a_reminder(today)
    assert followup_services.reminder_create_due(today=today) == 5
    assert Message.objects.filter(purpose="maintenance_reminder").count() == 5
    assert queued_tasks == [services.SEND_DUE_TASK]
    assert followup_services.reminder_create_due(today=today) == 0
    assert queued_tasks == [services.SEND_DUE_TASK]  # nothing new, no task


def test_a_single_event_message_is_still_sent_at_once(queued_tasks):
    services.message_enqueue(
        purpose="maintenance_reminder",
        contact_purpose="marketing",
        customer=CustomerFactory(marketing_consent=True),
        object_key="vehicle:9:2026-12-01",
        body="保养提醒",
    )
    assert queued_tasks == [services.SEND_TASK]


def test_the_invitation_sweep_asks_for_one_send_task(queued_tasks, all_day):
    for _ in range(3):
        make_delivered_visit(hours_ago=30)
    counts = survey_services.invitation_sweep_due()
    assert counts["sent"] == 3
    assert queued_tasks == [services.SEND_DUE_TASK]


def test_the_due_messages_go_out_in_chunks_within_the_time_budget(monkeypatch, all_day):
    monkeypatch.setattr(services, "SEND_DUE_CHUNK", 2)
    today = timezone.localdate()
    for _ in range(5):
        due_for_a_reminder(today)
    monkeypatch.setattr(services, "enqueue_on_commit", lambda name, *args: None)
    followup_services.reminder_create_due(today=today)
    assert services.message_send_due(budget_seconds=0) == 0  # no time: nothing taken
    assert services.message_send_due() == 5
    assert len(LocmemBackend.outbox) == 5
    assert services.message_send_due() == 0


def test_in_quiet_hours_the_due_messages_wait_for_the_contact_hours(queued_tasks):
    message, _created = services.message_enqueue(
        purpose="maintenance_reminder",
        contact_purpose="marketing",
        customer=CustomerFactory(marketing_consent=True),
        object_key="vehicle:7:2026-12-01",
        body="保养提醒",
    )
    night = timezone.localtime().replace(hour=2, minute=0) + timedelta(days=1)
    assert services.message_send_due(now=night) == 0
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED and message.next_attempt_at > night
    assert LocmemBackend.outbox == []


def test_sending_has_its_own_queue_and_a_worker_takes_from_both():
    route = app.amqp.router.route
    assert route({}, services.SEND_TASK)["queue"].name == "outbox"
    assert route({}, services.SEND_DUE_TASK)["queue"].name == "outbox"
    for event_or_sweep in (
        "followups.tasks.create_post_service_task",
        "surveys.tasks.create_invitation",
        "followups.tasks.sweep_missing_calls",
    ):
        assert route({}, event_or_sweep)["queue"].name == "celery"
    assert set(app.amqp.queues) == {"celery", "outbox"}  # a worker without -Q takes both
