"""A call's outcome with everything that follows from it, in one transaction
(workflows.call_outcome): phone answers become a scored response, a complaint callback
closes or reopens its complaint, an issue raised on a call is a complaint to register, a
refusal stops all contact — and a refusal of any part leaves nothing written."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from complaints import services as complaint_services
from complaints.models import Complaint
from followups import services as followup_services
from followups.models import CallAttempt, FollowUpTask
from shopcrm.errors import DomainError
from surveys.models import SurveyResponse
from tests.factories import CustomerFactory, UserFactory, contact_all_day
from tests.surveys.conftest import make_delivered_visit
from workflows.call_outcome import call_outcome_record

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
S, OUT, K = FollowUpTask.Status, FollowUpTask.Outcome, FollowUpTask.Kind


@pytest.fixture(autouse=True)
def calls_all_day():
    contact_all_day()


@pytest.fixture
def agent_user():
    return UserFactory(role="agent", username="agent-w")


def held_post_service_call(agent):
    visit = make_delivered_visit(hours_ago=30)
    followup_services.post_service_task_create(visit_id=visit.pk)
    return followup_services.task_claim_next(agent=agent)


def test_reached_with_answers_makes_a_phone_response(agent_user):
    task = held_post_service_call(agent_user)
    result = call_outcome_record(
        task=task,
        agent=agent_user,
        outcome=OUT.REACHED_SATISFIED,
        answers={"rel_fixed_right": "5", "nps": "10", "comment": ""},
    )
    assert result.task.status == S.DONE and not result.complaint_to_complete
    assert result.response.channel == "phone" and result.response.nps_score == 10
    assert SurveyResponse.objects.get().follow_up_task == task


def test_a_bad_answer_writes_nothing(agent_user):
    task = held_post_service_call(agent_user)
    with pytest.raises(ValidationError) as refused:
        call_outcome_record(
            task=task, agent=agent_user, outcome=OUT.REACHED_SATISFIED, answers={"nps": "11"}
        )
    assert set(refused.value.message_dict) == {"nps"}
    task.refresh_from_db()
    assert (task.status, task.attempts) == (S.CLAIMED, 0)  # still the agent's, no dial
    assert not CallAttempt.objects.exists() and not SurveyResponse.objects.exists()


def test_answers_count_only_when_the_customer_was_reached(agent_user):
    task = held_post_service_call(agent_user)
    result = call_outcome_record(
        task=task, agent=agent_user, outcome=OUT.NO_ANSWER, answers={"nps": "3"}
    )
    assert result.response is None and result.task.status == S.PENDING
    assert not SurveyResponse.objects.exists()


def test_an_issue_raised_on_a_call_is_a_complaint_in_the_same_transaction(agent_user):
    """Issue 16, bug 11: the call used to be saved first and the complaint left to a form the
    agent might leave; now the complaint is written with the call, owned by the agent."""
    task = held_post_service_call(agent_user)
    result = call_outcome_record(
        task=task, agent=agent_user, outcome=OUT.REACHED_ISSUE, note="刹车还是响"
    )
    complaint = Complaint.objects.get()
    assert result.complaint == complaint and result.complaint_to_complete
    assert (complaint.owner, complaint.follow_up_task, complaint.visit) == (
        agent_user,
        task,
        task.visit,
    )
    assert (complaint.channel, complaint.category, complaint.description) == (
        Complaint.Channel.FOLLOW_UP,
        Complaint.Category.OTHER,
        "刹车还是响",
    )
    assert complaint.status == Complaint.Status.NEW and complaint.first_response_due_at


def test_when_the_complaint_cannot_be_written_the_call_is_not_recorded_either(
    agent_user, monkeypatch
):
    task = held_post_service_call(agent_user)

    def broken(**kwargs):
        raise DomainError("编号用完了", code="broken")

    monkeypatch.setattr(complaint_services, "complaint_create_from_call", broken)
    with pytest.raises(DomainError):
        call_outcome_record(task=task, agent=agent_user, outcome=OUT.REACHED_ISSUE, note="异响")
    task.refresh_from_db()
    assert (task.status, task.attempts) == (S.CLAIMED, 0)
    assert not CallAttempt.objects.exists() and not Complaint.objects.exists()


def resolved_complaint():
    owner = UserFactory(role="advisor", username="owner-w", email="owner-w@example.com")
    complaint = complaint_services.complaint_create(
        customer=CustomerFactory(),
        by=owner,
        category="long_wait",
        severity="high",
        channel="walk_in",
        description="等了四个小时",
    )
    complaint = complaint_services.complaint_acknowledge(complaint=complaint, by=owner)
    return complaint_services.complaint_resolve(
        complaint=complaint,
        by=owner,
        resolution="退还工时费",
        root_cause="people",
        corrective_action="培训",
    )


@pytest.mark.parametrize(
    ("outcome", "status", "accepted"),
    [
        (OUT.REACHED_SATISFIED, Complaint.Status.CLOSED, True),
        (OUT.REACHED_ISSUE, Complaint.Status.IN_PROGRESS, False),
    ],
)
def test_a_complaint_callback_closes_or_reopens_its_complaint(
    agent_user, outcome, status, accepted
):
    complaint = resolved_complaint()
    task = followup_services.task_claim_next(agent=agent_user)
    assert task.kind == K.COMPLAINT_CALLBACK
    result = call_outcome_record(task=task, agent=agent_user, outcome=outcome, note="客户意见")
    assert result.complaint == complaint and not result.complaint_to_complete
    complaint.refresh_from_db()
    assert (complaint.status, complaint.customer_accepted) == (status, accepted)


def test_a_refusal_stops_every_call_to_the_customer(agent_user):
    task = held_post_service_call(agent_user)
    other, _created = followup_services.task_create(
        kind=K.WIN_BACK,
        source=task.source.__class__("customer", task.customer_id, "2025-01-01"),
        customer=task.customer,
        due_at=timezone.now() + timedelta(days=1),
    )
    call_outcome_record(task=task, agent=agent_user, outcome=OUT.REFUSED)
    task.customer.refresh_from_db()
    other.refresh_from_db()
    assert task.customer.do_not_contact and other.status == S.CANCELLED


def test_a_call_no_longer_held_is_refused_and_writes_nothing(agent_user):
    task = held_post_service_call(agent_user)  # the agent walked away: the lease ran out
    assert followup_services.lease_release_expired(now=task.lease_expires_at) == 1
    with pytest.raises(DomainError):
        call_outcome_record(
            task=task,  # the copy the agent's page had
            agent=agent_user,
            outcome=OUT.REACHED_SATISFIED,
            answers={"nps": "9"},
        )
    assert not CallAttempt.objects.exists() and not SurveyResponse.objects.exists()
