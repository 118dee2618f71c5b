"""Effects that cannot be lost (issue 15, part 1), against PostgreSQL: the missing-effects
sweeps find each delivered visit without its three-day call or survey invitation and make
it once, and a broker that refuses the event's task never fails the write that sent it.
The same with real processes and a Redis killed mid-batch: tests/faults/."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

import shopcrm.celery
from followups import services as followup_services
from followups.models import FollowUpTask
from surveys import services as survey_services
from surveys.models import SurveyInvitation
from surveys.selectors import template_default
from tests.api.conftest import dms as dms_fixture
from tests.api.conftest import dms_user as dms_user_fixture
from tests.api.conftest import post
from tests.factories import CustomerFactory, VehicleFactory, VisitFactory
from tests.followups.test_services import delivered_visit
from visits.models import Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
POST_SERVICE = FollowUpTask.Kind.POST_SERVICE
dms, dms_user = dms_fixture, dms_user_fixture  # the API tests' token client


def calls() -> list:
    return sorted(FollowUpTask.objects.filter(kind=POST_SERVICE).values_list("visit_id", flat=True))


def invited() -> list:
    return sorted(SurveyInvitation.objects.values_list("visit_id", flat=True))


@pytest.fixture
def broker_down(monkeypatch):
    """Every task sent is refused as a dead Redis refuses it; the refused names are kept."""
    refused = []

    class RefusedSignature:
        def __init__(self, name):
            self.name = name

        def apply_async(self, **options):
            refused.append(self.name)
            raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(
        shopcrm.celery.app, "signature", lambda name, args=(): RefusedSignature(name)
    )
    monkeypatch.setattr(shopcrm.celery, "_broker_down_until", 0.0)
    return refused


def test_the_sweep_makes_the_call_the_event_missed_once():
    visit = delivered_visit()  # delivered, but the event's task never ran
    assert calls() == []
    assert followup_services.post_service_task_create_missing() == 1
    assert calls() == [visit.pk]
    assert followup_services.post_service_task_create_missing() == 0
    assert calls() == [visit.pk]


def test_the_call_sweep_leaves_what_the_rules_and_the_look_back_exclude():
    refused = delivered_visit(customer=CustomerFactory(do_not_contact=True))
    too_old = delivered_visit(delivered_at=timezone.now() - timedelta(days=8))
    in_workshop = VisitFactory(status=Visit.Status.IN_PROGRESS)
    cancelled = delivered_visit()
    followup_services.post_service_task_create(visit_id=cancelled.pk)
    FollowUpTask.objects.filter(visit=cancelled).update(status=FollowUpTask.Status.CANCELLED)
    assert followup_services.post_service_task_create_missing() == 0
    assert calls() == [cancelled.pk]  # a call a manager cancelled stays cancelled
    assert {refused.pk, too_old.pk, in_workshop.pk}.isdisjoint(calls())


def test_the_sweep_makes_the_invitation_the_event_missed_once():
    consenting = delivered_visit(customer=CustomerFactory(marketing_consent=True))
    delivered_visit(customer=CustomerFactory(marketing_consent=False))
    answered = delivered_visit(customer=CustomerFactory(marketing_consent=True))
    answered.survey_responses.create(
        template=template_default(),
        customer=answered.customer,
        channel="phone",
        submitted_at=timezone.now(),
    )
    assert survey_services.invitation_sweep_due()["created"] == 1
    assert invited() == [consenting.pk]
    assert survey_services.invitation_create_missing() == 0
    assert invited() == [consenting.pk]


def test_a_dead_broker_never_fails_a_delivery_in_the_browser(
    broker_down, advisor_client, django_capture_on_commit_callbacks
):
    visit = VisitFactory(
        status=Visit.Status.READY, customer=CustomerFactory(marketing_consent=True)
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = advisor_client.post(
            reverse("visits:deliver", args=[visit.pk]),
            {"labour_amount": "300", "parts_amount": "200"},
        )
    assert response.status_code == 302
    assert Visit.objects.get(pk=visit.pk).status == Visit.Status.DELIVERED
    # The event's first task was refused; the rest within the back-off were not even tried.
    assert broker_down == ["followups.tasks.create_post_service_task"]
    assert calls() == [] and invited() == []
    followup_services.post_service_task_create_missing()
    survey_services.invitation_create_missing()
    assert calls() == [visit.pk] and invited() == [visit.pk]


def test_a_dead_broker_never_fails_a_dms_batch_and_its_retry_gets_the_first_answer(
    broker_down, dms, django_capture_on_commit_callbacks
):
    vehicles = [
        VehicleFactory(external_id=f"V{n}", owner=CustomerFactory(marketing_consent=True))
        for n in range(3)
    ]
    delivered = timezone.now() - timedelta(hours=5)
    batch = [
        {
            "external_id": f"R{n}",
            "ro_number": f"RO-{n}",
            "vehicle_external_id": vehicle.external_id,
            "service_type": "maintenance",
            "status": "delivered",
            "checked_in_at": (delivered - timedelta(hours=3)).isoformat(),
            "delivered_at": delivered.isoformat(),
            "labour_amount": "300.00",
            "parts_amount": "200.00",
        }
        for n, vehicle in enumerate(vehicles)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        first = post(dms, "visits", batch, HTTP_IDEMPOTENCY_KEY="batch-1")
    assert first.status_code == 200 and first.json()["created"] == 3
    assert broker_down  # the broker was asked, and refused
    retry = post(dms, "visits", batch, HTTP_IDEMPOTENCY_KEY="batch-1")
    assert retry.status_code == 200 and retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert followup_services.post_service_task_create_missing() == 3
    assert survey_services.invitation_create_missing() == 3
    visit_ids = sorted(Visit.objects.values_list("pk", flat=True))
    assert calls() == visit_ids and invited() == visit_ids


def test_the_broker_is_tried_again_after_the_back_off(broker_down, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(shopcrm.celery.time, "monotonic", lambda: clock[0])
    assert shopcrm.celery.enqueue("messaging.tasks.send_message", 1) is False
    assert shopcrm.celery.enqueue("messaging.tasks.send_message", 2) is False
    assert len(broker_down) == 1
    clock[0] += shopcrm.celery.BROKER_BACKOFF_SECONDS + 1
    assert shopcrm.celery.enqueue("messaging.tasks.send_message", 3) is False
    assert len(broker_down) == 2


def test_a_tasks_own_error_is_not_taken_for_a_dead_broker(monkeypatch):
    """Only the broker's errors are swallowed: an eager task that fails (tests) raises, and
    later tasks are not skipped as if the broker were down."""

    class Failing:
        def apply_async(self, **options):
            raise ValueError("the task's own bug")

    monkeypatch.setattr(shopcrm.celery.app, "signature", lambda name, args=(): Failing())
    monkeypatch.setattr(shopcrm.celery, "_broker_down_until", 0.0)
    with pytest.raises(ValueError):
        shopcrm.celery.enqueue("messaging.tasks.send_message", 1)
    assert shopcrm.celery._broker_down_until == 0.0
