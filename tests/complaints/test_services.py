"""Complaints against PostgreSQL: numbering under concurrency, each transition and the
refusals, SLA arithmetic across a weekend and a holiday, escalation once per breach, the
resolution callback."""

import threading
from datetime import date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from complaints import services
from complaints.models import (
    Complaint,
    ComplaintEscalation,
    ComplaintEvent,
    Notification,
)
from followups.models import FollowUpTask
from messaging.models import Message
from shopcrm.errors import DomainError
from tests.factories import CustomerFactory, UserFactory, VisitFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
S = Complaint.Status
SHANGHAI = timezone.get_default_timezone()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)), SHANGHAI)


FRIDAY = date(2026, 11, 20)
MONDAY = date(2026, 11, 23)


@pytest.fixture
def owner(db):
    return UserFactory(role="advisor", username="owner-a", email="owner@example.com")


def make(owner, **extra):
    fields = {
        "customer": CustomerFactory(),
        "by": owner,
        "category": "long_wait",
        "severity": "high",
        "channel": "walk_in",
        "description": "等了四个小时",
    }
    fields.update(extra)
    return services.complaint_create(**fields)


# ---------------------------------------------------------------- SLA deadlines
# (the business-hours arithmetic itself: tests/shopcalendar)


def test_deadlines_on_a_new_complaint(owner, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: at(FRIDAY, 17))
    complaint = make(owner, severity="critical", received_at=at(FRIDAY, 17))
    assert complaint.first_response_due_at == at(FRIDAY, 18)  # 1 business hour
    assert complaint.resolution_due_at == at(date(2026, 11, 25), 14)  # 24 business hours


# ---------------------------------------------------------------- intake and numbering


def test_taking_a_complaint_numbers_it_and_makes_the_taker_its_owner(owner):
    complaint = make(owner)
    year = timezone.localdate().year
    assert complaint.number == f"C-{year}-000001"
    assert (complaint.owner, complaint.status) == (owner, S.NEW)
    event = complaint.events.get()
    assert (event.kind, event.actor, event.to_status) == ("created", owner, S.NEW)
    assert make(owner).number == f"C-{year}-000002"


def test_a_rolled_back_complaint_leaves_no_gap(owner):
    year = timezone.localdate().year
    with pytest.raises(RuntimeError), transaction.atomic():
        make(owner)
        raise RuntimeError("the request failed after the number was taken")
    assert make(owner).number == f"C-{year}-000001"


@pytest.mark.parametrize(
    ("field", "extra"),
    [
        ("category", {"category": "rude"}),
        ("severity", {"severity": "apocalyptic"}),
        ("channel", {"channel": "carrier pigeon"}),
        ("description", {"description": "   "}),
        ("received_at", {"received_at": timezone.now() + timedelta(days=2)}),
    ],
)
def test_bad_intake_is_refused_and_nothing_is_written(owner, field, extra):
    with pytest.raises(ValidationError) as caught:
        make(owner, **extra)
    assert field in caught.value.message_dict
    assert not Complaint.objects.exists() and not ComplaintEvent.objects.exists()


def test_the_visit_must_be_the_customers(owner):
    with pytest.raises(ValidationError) as caught:
        make(owner, visit=VisitFactory())
    assert "visit" in caught.value.message_dict


@pytest.mark.django_db(transaction=True)
def test_numbering_without_gaps_or_duplicates_under_concurrent_creation():
    owner = UserFactory(role="advisor", username="owner-t")
    customer = CustomerFactory()
    barrier, numbers, errors = threading.Barrier(8), [], []

    def take():
        try:
            barrier.wait()
            for _ in range(5):
                numbers.append(
                    services.complaint_create(
                        customer=customer,
                        by=owner,
                        category="attitude",
                        severity="low",
                        channel="phone",
                        description="并发",
                    ).number
                )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    year = timezone.localdate().year
    assert sorted(numbers) == [f"C-{year}-{n:06d}" for n in range(1, 41)]


# ---------------------------------------------------------------- lifecycle


def test_the_whole_lifecycle_with_every_step_on_the_timeline(owner):
    manager = UserFactory(role="manager", username="manager-c")
    helper = UserFactory(role="agent", username="helper-c")
    complaint = make(owner)
    complaint = services.complaint_acknowledge(complaint=complaint, by=owner, note="已致电客户致歉")
    assert complaint.acknowledged_at is not None
    complaint = services.complaint_assign(complaint=complaint, to=helper, by=manager)
    assert (complaint.owner, complaint.assignee) == (owner, helper)  # the owner stays
    complaint = services.complaint_start(complaint=complaint, by=helper)
    services.complaint_add_note(complaint=complaint, by=helper, text="已与车间核实", contact=False)
    services.complaint_add_note(complaint=complaint, by=helper, text="电话告知进展", contact=True)
    complaint = services.complaint_resolve(
        complaint=complaint,
        by=owner,
        resolution="赠送一次免费保养",
        root_cause="system",
        corrective_action="增加快修工位",
    )
    assert (complaint.status, complaint.resolution_round) == (S.RESOLVED, 1)
    callback = FollowUpTask.objects.get(kind=FollowUpTask.Kind.COMPLAINT_CALLBACK)
    assert callback.source_key == f"complaint:{complaint.pk}:1"
    complaint = services.complaint_close(complaint=complaint, by=manager)
    complaint = services.complaint_reopen(complaint=complaint, by=manager, reason="客户再次来电")
    assert complaint.status == S.IN_PROGRESS and complaint.closed_at is None
    kinds = list(complaint.events.values_list("kind", flat=True))
    assert kinds == [
        "created",
        "acknowledged",
        "assigned",
        "started",
        "note",
        "contact",
        "resolved",
        "closed",
        "reopened",
    ]
    assert all(e.actor_id for e in complaint.events.all())
    services.complaint_resolve(
        complaint=complaint,
        by=owner,
        resolution="更换配件",
        root_cause="value",
        corrective_action="供应商质量反馈",
    )
    assert FollowUpTask.objects.filter(kind=FollowUpTask.Kind.COMPLAINT_CALLBACK).count() == 2


@pytest.mark.parametrize(
    ("steps", "illegal"),
    [
        ([], "resolve"),
        ([], "start"),
        ([], "close"),
        (["acknowledge"], "acknowledge"),
        (["acknowledge", "start"], "close"),
        (["acknowledge", "resolve", "close"], "start"),
    ],
)
def test_illegal_transitions_are_refused_with_a_message(owner, steps, illegal):
    complaint = make(owner)
    actions = {
        "acknowledge": lambda c: services.complaint_acknowledge(complaint=c, by=owner),
        "start": lambda c: services.complaint_start(complaint=c, by=owner),
        "resolve": lambda c: services.complaint_resolve(
            complaint=c, by=owner, resolution="x", root_cause="people", corrective_action="y"
        ),
        "close": lambda c: services.complaint_close(complaint=c, by=owner),
    }
    for step in steps:
        complaint = actions[step](complaint)
    before = (complaint.status, complaint.events.count())
    with pytest.raises(DomainError) as caught:
        actions[illegal](complaint)
    assert complaint.number in caught.value.message
    complaint.refresh_from_db()
    assert (complaint.status, complaint.events.count()) == before


def test_resolving_needs_resolution_root_cause_and_corrective_action(owner):
    complaint = services.complaint_acknowledge(complaint=make(owner), by=owner)
    with pytest.raises(ValidationError) as caught:
        services.complaint_resolve(
            complaint=complaint, by=owner, resolution=" ", root_cause="luck", corrective_action=""
        )
    assert set(caught.value.message_dict) == {"resolution", "root_cause", "corrective_action"}
    complaint.refresh_from_db()
    assert complaint.status == S.ACKNOWLEDGED
    assert not FollowUpTask.objects.exists()


def resolved(owner):
    complaint = services.complaint_acknowledge(complaint=make(owner), by=owner)
    return services.complaint_resolve(
        complaint=complaint,
        by=owner,
        resolution="退还工时费",
        root_cause="people",
        corrective_action="培训",
    )


def test_callback_accepted_closes_the_complaint(owner):
    complaint = resolved(owner)
    task = FollowUpTask.objects.get(kind=FollowUpTask.Kind.COMPLAINT_CALLBACK)
    agent = UserFactory(role="agent", username="agent-c")
    services.complaint_record_callback(task=task, by=agent, accepted=True)
    complaint.refresh_from_db()
    assert (complaint.status, complaint.customer_accepted) == (S.CLOSED, True)
    assert complaint.events.filter(kind="callback").exists()


def test_callback_not_accepted_reopens_and_tells_the_owner(owner):
    complaint = resolved(owner)
    task = FollowUpTask.objects.get(kind=FollowUpTask.Kind.COMPLAINT_CALLBACK)
    agent = UserFactory(role="agent", username="agent-d")
    services.complaint_record_callback(task=task, by=agent, accepted=False, note="要求全额退款")
    complaint.refresh_from_db()
    assert (complaint.status, complaint.customer_accepted) == (S.IN_PROGRESS, False)
    notice = Notification.objects.get(user=owner)
    assert complaint.number in notice.text and "要求全额退款" in complaint.events.last().text
    assert Message.objects.filter(recipient="owner@example.com").count() == 1


# ---------------------------------------------------------------- escalation


def breached(owner):
    complaint = make(owner)
    Complaint.objects.filter(pk=complaint.pk).update(
        first_response_due_at=timezone.now() - timedelta(minutes=5)
    )
    return complaint


def test_each_breach_escalates_once(owner):
    manager = UserFactory(role="manager", username="boss", email="boss@example.com")
    complaint = breached(owner)
    assert services.complaint_escalate_breaches() == 1
    assert services.complaint_escalate_breaches() == 0
    complaint.refresh_from_db()
    assert complaint.escalation_level == 1
    assert complaint.events.filter(kind="escalated").count() == 1
    assert set(Notification.objects.values_list("user__username", flat=True)) == {
        owner.username,
        manager.username,
    }
    assert Message.objects.filter(purpose="complaint_notice").count() == 2
    # The resolution deadline passes too: the next level, once.
    Complaint.objects.filter(pk=complaint.pk).update(
        resolution_due_at=timezone.now() - timedelta(minutes=1)
    )
    assert services.complaint_escalate_breaches() == 2 - 1  # level 1 is done already
    assert services.complaint_escalate_breaches() == 0
    complaint.refresh_from_db()
    assert complaint.escalation_level == 2
    assert ComplaintEscalation.objects.filter(complaint=complaint).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_escalate_once():
    owner = UserFactory(role="advisor", username="owner-s")
    UserFactory(role="manager", username="boss-s")
    complaints = [breached(owner) for _ in range(6)]
    barrier, results = threading.Barrier(2), []

    def sweep():
        barrier.wait()
        results.append(services.complaint_escalate_breaches())
        connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 6
    assert ComplaintEscalation.objects.count() == 6
    assert ComplaintEvent.objects.filter(kind="escalated").count() == 6
    assert Notification.objects.count() == 12  # owner and manager, once each per complaint
    assert all(c.escalations.count() == 1 for c in complaints)
