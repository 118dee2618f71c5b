"""Recommended work that comes back (issue 17): declined and deferred items become
recommendations on the vehicle, shown at the next check-in (one tap adds them to the new RO),
on the customer page and on the call screen; a "recommended work" call is due after the
policy's interval, once per recommendation; a later visit that includes it makes it done and
cancels the call not yet made."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from followups import services as followup_services
from followups.models import FollowUpPolicy, FollowUpTask
from tests.factories import UserFactory, VisitFactory, contact_all_day
from visits import workitems
from visits.models import Recommendation, Visit, WorkItem

pytestmark = [pytest.mark.django_db]
W = WorkItem.Status


@pytest.fixture
def advisor():
    return UserFactory(role="advisor", username="advisor-r", last_name="李", first_name="娜")


def answered(advisor, decision, urgency="can_wait", description="空调滤芯脏，建议更换"):
    visit = VisitFactory(status=Visit.Status.IN_PROGRESS)
    item = workitems.extra_work_request(
        visit=visit,
        description=description,
        labour_estimate="30",
        parts_estimate="90",
        urgency=urgency,
        by=advisor,
    )
    return workitems.extra_work_answer(item=item, decision=decision, channel="phone", by=advisor)


@pytest.mark.parametrize(
    ("decision", "becomes"), [(W.DECLINED, True), (W.DEFERRED, True), (W.APPROVED, False)]
)
def test_declined_and_deferred_items_become_recommendations(advisor, decision, becomes):
    item = answered(advisor, decision)
    assert Recommendation.objects.filter(item=item, vehicle=item.visit.vehicle).exists() == becomes


def test_a_recommended_work_call_is_due_after_the_interval_once(advisor):
    contact_all_day()
    item = answered(advisor, W.DEFERRED)
    recommendation = item.recommendation
    assert followup_services.recommended_work_calls_sync()["created"] == 1
    assert followup_services.recommended_work_calls_sync()["created"] == 0  # two beats
    task = FollowUpTask.objects.get(kind=FollowUpTask.Kind.RECOMMENDED_WORK)
    days = FollowUpPolicy.current().recommendation_call_days
    assert task.due_at >= recommendation.created_at + timedelta(days=days)
    assert task.vehicle_id == item.visit.vehicle_id and "空调滤芯脏" in task.reason


def test_the_sweep_does_not_call_about_recommendations_whose_call_window_has_passed(advisor):
    """A recommendation older than the interval plus the call's 30 days would be born
    expired: the sweep leaves it (and does not load the vehicle's whole history each beat)."""
    contact_all_day()
    days = FollowUpPolicy.current().recommendation_call_days
    old, recent = answered(advisor, W.DEFERRED), answered(advisor, W.DECLINED)
    Recommendation.objects.filter(item=old).update(
        created_at=timezone.now() - timedelta(days=days + 31)
    )
    Recommendation.objects.filter(item=recent).update(
        created_at=timezone.now() - timedelta(days=days + 29)
    )
    assert followup_services.recommended_work_calls_sync()["created"] == 1
    task = FollowUpTask.objects.get(kind=FollowUpTask.Kind.RECOMMENDED_WORK)
    assert task.vehicle_id == recent.visit.vehicle_id


def test_the_answer_plans_the_call_at_once(advisor, django_capture_on_commit_callbacks):
    contact_all_day()
    with django_capture_on_commit_callbacks(execute=True):
        answered(advisor, W.DECLINED)
    assert FollowUpTask.objects.filter(kind=FollowUpTask.Kind.RECOMMENDED_WORK).count() == 1


def test_one_tap_at_the_next_check_in_adds_it_and_cancels_the_call(advisor_client, advisor):
    contact_all_day()
    item = answered(advisor, W.DECLINED)
    followup_services.recommended_work_calls_sync()
    Visit.objects.filter(pk=item.visit_id).update(
        status=Visit.Status.DELIVERED, delivered_at=timezone.now()
    )
    vehicle = item.visit.vehicle
    page = advisor_client.get(reverse("visits:check_in"), {"vehicle": vehicle.pk})
    html = page.content.decode()
    recommendation = item.recommendation
    assert 'id="check-in-recommendations"' in html and "空调滤芯脏" in html
    answer = advisor_client.post(
        reverse("visits:check_in"),
        {
            "vehicle_id": vehicle.pk,
            "customer_id": vehicle.owner_id,
            "service_type": "maintenance",
            "promised_at": (timezone.localtime() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
            "by_appointment": "0",
            "concern": "保养",
            "recommendations": [recommendation.pk],
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:2000]
    new_visit = Visit.objects.exclude(pk=item.visit_id).get(vehicle=vehicle)
    planned = new_visit.work_items.get()
    assert (planned.kind, planned.description, planned.from_recommendation) == (
        "planned",
        "空调滤芯脏，建议更换",
        recommendation,
    )
    recommendation.refresh_from_db()
    assert (recommendation.status, recommendation.done_visit) == ("done", new_visit)
    assert followup_services.recommended_work_calls_sync()["cancelled"] == 1
    assert FollowUpTask.objects.get(kind="recommended_work").status == "cancelled"


def test_the_customer_page_and_the_call_screen_show_them(advisor_client, client, advisor):
    contact_all_day()
    item = answered(advisor, W.DEFERRED)
    page = advisor_client.get(reverse("customers:detail", args=[item.visit.customer_id]))
    assert "空调滤芯脏" in page.content.decode()
    followup_services.recommended_work_calls_sync()
    task = FollowUpTask.objects.get(kind="recommended_work")
    earlier = timezone.now() - timedelta(minutes=1)
    FollowUpTask.objects.filter(pk=task.pk).update(due_at=earlier, next_attempt_at=earlier)
    agent = UserFactory(role="agent", username="agent-r")
    client.force_login(agent)
    client.post(reverse("followups:next"))
    call = client.get(reverse("followups:call", args=[task.pk])).content.decode()
    assert 'id="call-recommendations"' in call and "空调滤芯脏" in call


def test_someone_elses_recommendation_is_not_added(advisor):
    item = answered(advisor, W.DECLINED)
    other_visit = VisitFactory(status=Visit.Status.CHECKED_IN)
    assert (
        workitems.recommendations_add(
            visit=other_visit, recommendation_ids=[item.recommendation.pk, "x"], by=advisor
        )
        == []
    )
    item.recommendation.refresh_from_db()
    assert item.recommendation.status == "open"
