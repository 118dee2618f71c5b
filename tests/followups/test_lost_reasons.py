"""Why customers leave (issue 19): the outcome "lost" on the calls that bring a car back, and
the coded reason it carries (required; "other" with its note), asked too on a win-back
reached without a booking. A bad reason leaves nothing written."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from followups import rules, services, sources
from followups.models import CallAttempt, FollowUpTask
from tests.factories import VehicleFactory, contact_all_day
from tests.followups.test_booking_calls import claim

pytestmark = pytest.mark.django_db
S, OUT, K, R = (
    FollowUpTask.Status,
    FollowUpTask.Outcome,
    FollowUpTask.Kind,
    FollowUpTask.LostReason,
)
NOW = timezone.now()


@pytest.fixture(autouse=True)
def always_calling_hours():
    contact_all_day()


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def call(kind=K.WIN_BACK):
    vehicle = VehicleFactory()
    source = (
        sources.of_lapse(vehicle.owner_id, timezone.localdate() - timedelta(days=400))
        if kind == K.WIN_BACK
        else sources.of_vehicle_service(vehicle.pk, timezone.localdate())
    )
    task, _created = services.task_create(
        kind=kind,
        source=source,
        customer=vehicle.owner,
        vehicle=vehicle,
        due_at=timezone.now() - timedelta(minutes=1),
    )
    return task


def errors(**kwargs):
    fields = {"outcome": OUT.LOST, "note": "", "callback_at": None, "now": NOW, "kind": K.WIN_BACK}
    return rules.outcome_errors(**{**fields, **kwargs})


def test_the_rule_asks_a_reason_on_lost_and_a_note_on_other():
    assert "lost_reason" in errors()
    assert errors(lost_reason=R.PRICE) == {}
    assert "lost_note" in errors(lost_reason=R.OTHER)
    assert "lost_note" in errors(lost_reason=R.OTHER, lost_note="   ")
    assert errors(lost_reason=R.OTHER, lost_note="公司配车") == {}
    assert "lost_reason" in errors(lost_reason="cheaper")  # not a code of the list
    assert "lost_note" in errors(lost_reason=R.PRICE, lost_note="字" * 201)
    # Only the calls that bring a car back may lose the customer.
    assert "outcome" in errors(kind=K.POST_SERVICE, lost_reason=R.PRICE)
    assert errors(kind=K.MAINTENANCE_REMINDER, lost_reason=R.SOLD_CAR) == {}
    assert errors(kind=K.MISSED_APPOINTMENT, lost_reason=R.MOVED_AWAY) == {}
    # A win-back reached without a booking may say why (not required); a bad code never.
    assert errors(outcome=OUT.REACHED_SATISFIED) == {}
    assert errors(outcome=OUT.REACHED_SATISFIED, lost_reason=R.PRICE) == {}
    assert "lost_note" in errors(outcome=OUT.REACHED_ISSUE, note="x", lost_reason=R.OTHER)
    assert "lost_reason" in errors(outcome=OUT.NO_ANSWER, lost_reason="?")
    assert rules.reason_asked(OUT.LOST, K.MAINTENANCE_REMINDER)
    assert rules.reason_asked(OUT.REACHED_SATISFIED, K.WIN_BACK)
    assert not rules.reason_asked(OUT.REACHED_SATISFIED, K.MAINTENANCE_REMINDER)
    assert not rules.reason_asked(OUT.BOOKED, K.WIN_BACK)


def test_lost_is_a_reached_call_that_ends_the_task():
    assert OUT.LOST in FollowUpTask.REACHED and OUT.LOST in rules.DONE


def test_the_agent_records_a_lost_customer_with_the_reason(agent_client, agent):
    task = call(K.MAINTENANCE_REMINDER)
    url = claim(agent_client, task)
    body = agent_client.get(reverse("followups:call", args=[task.pk])).content.decode()
    assert 'id="lost-card"' in body and 'value="lost"' in body
    response = agent_client.post(
        url, {"outcome": OUT.LOST, "lost_reason": R.OTHER, "lost_note": " 公司配车了 "}
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.outcome, task.lost_reason, task.lost_note) == (
        S.DONE,
        OUT.LOST,
        R.OTHER,
        "公司配车了",
    )
    assert CallAttempt.objects.get(task=task).outcome == OUT.LOST
    assert task.history.first().lost_reason == R.OTHER


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"outcome": OUT.LOST}, "请选择流失原因"),
        ({"outcome": OUT.LOST, "lost_reason": R.OTHER}, "请写明原因"),
        ({"outcome": OUT.LOST, "lost_reason": "cheaper"}, "请从列表中选择流失原因"),
        ({"outcome": OUT.REACHED_SATISFIED, "lost_reason": "<b>"}, "请从列表中选择流失原因"),
        ({"outcome": OUT.LOST, "lost_reason": R.PRICE, "lost_note": "字" * 201}, "lost_note"),
    ],
)
def test_a_bad_reason_writes_nothing(agent_client, data, field):
    task = call()
    url = claim(agent_client, task)
    response = agent_client.post(url, data)
    assert response.status_code == 400
    assert field in response.content.decode()
    task.refresh_from_db()
    assert (task.status, task.outcome, task.lost_reason, task.attempts) == (S.CLAIMED, "", "", 0)
    assert not CallAttempt.objects.filter(task=task).exists()


def test_a_win_back_reached_without_a_booking_keeps_the_reason_given(agent_client):
    task = call()
    url = claim(agent_client, task)
    body = agent_client.get(reverse("followups:call", args=[task.pk])).content.decode()
    assert "接通未预约时请尽量询问" in body
    agent_client.post(url, {"outcome": OUT.REACHED_SATISFIED, "lost_reason": R.WAITING_TIME})
    task.refresh_from_db()
    assert (task.status, task.lost_reason) == (S.DONE, R.WAITING_TIME)


def test_a_reason_left_over_from_another_outcome_is_not_stored(agent_client):
    task = call(K.MAINTENANCE_REMINDER)
    url = claim(agent_client, task)
    agent_client.post(url, {"outcome": OUT.NO_ANSWER, "lost_reason": R.PRICE, "lost_note": "x"})
    task.refresh_from_db()
    assert (task.outcome, task.lost_reason, task.lost_note) == (OUT.NO_ANSWER, "", "")


def test_lost_is_not_offered_nor_accepted_on_a_three_day_call(agent_client, agent):
    customer = VehicleFactory().owner
    task, _created = services.task_create(
        kind=K.POST_SERVICE,
        source=sources.of_visit(987654),
        customer=customer,
        due_at=timezone.now() - timedelta(minutes=1),
    )
    url = claim(agent_client, task)
    body = agent_client.get(reverse("followups:call", args=[task.pk])).content.decode()
    assert 'value="lost"' not in body and 'id="lost-card"' not in body
    response = agent_client.post(url, {"outcome": OUT.LOST, "lost_reason": R.PRICE})
    assert response.status_code == 400
    task.refresh_from_db()
    assert (task.status, task.outcome) == (S.CLAIMED, "")
