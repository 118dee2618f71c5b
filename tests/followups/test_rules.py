"""The call queue's rules as plain functions, without a database (pytest-django refuses
any query here): priorities, what each outcome does, retry spacing, the last try, calls
back at the customer's time."""

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from followups import rules, sources
from followups.models import FollowUpPolicy, FollowUpTask
from shopcalendar.rules import Hours

S, OUT, K = FollowUpTask.Status, FollowUpTask.Outcome, FollowUpTask.Kind
SHANGHAI = timezone.get_default_timezone()
MONDAY = date(2026, 11, 23)
CONTACT = rules.ContactHours(Hours(time(9), time(20)))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)), SHANGHAI)


NOW = at(MONDAY, 10)


def held(**fields) -> FollowUpTask:
    task = FollowUpTask(
        kind=K.POST_SERVICE,
        status=S.CLAIMED,
        assigned_to_id=7,
        lease_expires_at=NOW + timedelta(minutes=15),
        due_at=NOW - timedelta(hours=1),
        next_attempt_at=NOW - timedelta(hours=1),
        expires_at=NOW + timedelta(days=5),
    )
    for name, value in fields.items():
        setattr(task, name, value)
    return task


def dial(task, outcome, *, now=NOW, callback_at=None, policy=None, contact=CONTACT):
    rules.apply_outcome(
        task,
        outcome=outcome,
        note="",
        callback_at=callback_at,
        now=now,
        policy=policy or FollowUpPolicy(),
        contact=contact,
    )
    return task


def test_urgent_kinds_come_first():
    order = sorted(K.values, key=rules.priority_of)
    # Issue 16, bug 10: a complaint callback before a service-recovery call (they tied).
    assert order[:2] == [K.COMPLAINT_CALLBACK, K.SERVICE_RECOVERY]
    assert order[2:] == [
        K.POST_SERVICE,
        K.MISSED_APPOINTMENT,  # the customer wanted to come: call before the reminders
        K.RECALL,  # a safety recall (campaigns) before the routine calls
        K.MAINTENANCE_REMINDER,
        K.RECOMMENDED_WORK,
        K.WIN_BACK,
        K.CAMPAIGN,  # a marketing campaign's call last
    ]
    assert rules.priority_of("something_new") == rules.DEFAULT_PRIORITY


@pytest.mark.parametrize(
    ("outcome", "note", "callback_at", "field"),
    [
        ("teleported", "", None, "outcome"),
        (OUT.REACHED_ISSUE, "  ", None, "note"),
        (OUT.CALLBACK, "", None, "callback_at"),
        (OUT.CALLBACK, "", NOW, "callback_at"),  # not in the future
    ],
)
def test_what_an_agent_must_enter(outcome, note, callback_at, field):
    errors = rules.outcome_errors(outcome=outcome, note=note, callback_at=callback_at, now=NOW)
    assert list(errors) == [field]
    assert not rules.outcome_errors(
        outcome=OUT.REACHED_ISSUE, note="刹车异响", callback_at=None, now=NOW
    )


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (OUT.REACHED_SATISFIED, S.DONE),
        (OUT.REACHED_ISSUE, S.DONE),
        (OUT.REFUSED, S.DONE),
        (OUT.WRONG_NUMBER, S.FAILED),
    ],
)
def test_final_outcomes(outcome, status):
    task = dial(held(), outcome)
    assert (task.status, task.attempts, task.completed_at, task.lease_expires_at) == (
        status,
        1,
        NOW,
        None,
    )
    assert task.assigned_to_id == 7  # who made the last dial stays on a closed task


def test_no_answer_is_tried_again_after_the_spacing_then_next_day_then_fails():
    task = dial(held(), OUT.NO_ANSWER)
    assert (task.status, task.next_attempt_at, task.assigned_to_id) == (
        S.PENDING,
        at(MONDAY, 12),  # two hours (the policy's first retry)
        None,
    )
    task = dial(held(attempts=1), OUT.BUSY, now=at(MONDAY, 12))
    assert task.next_attempt_at == at(MONDAY + timedelta(days=1), 9)  # the next calling day
    task = dial(held(attempts=2), OUT.NO_ANSWER, now=at(MONDAY + timedelta(days=1), 9))
    assert (task.status, task.attempts) == (S.FAILED, 3)  # the policy's third try was the last


def test_retries_wait_for_contact_hours_and_skip_holidays():
    evening = dial(held(), OUT.NO_ANSWER, now=at(MONDAY, 19))  # 21:00 is quiet
    assert evening.next_attempt_at == at(MONDAY + timedelta(days=1), 9)
    closed = rules.ContactHours(CONTACT.hours, frozenset({MONDAY + timedelta(days=1)}))
    task = dial(held(attempts=1), OUT.NO_ANSWER, now=at(MONDAY, 12), contact=closed)
    assert task.next_attempt_at == at(MONDAY + timedelta(days=2), 9)


def test_the_policy_sets_the_spacing_and_the_last_try():
    policy = FollowUpPolicy(first_retry_hours=4, max_attempts=1)
    assert dial(held(), OUT.NO_ANSWER, policy=policy).status == S.FAILED
    policy = FollowUpPolicy(first_retry_hours=4, max_attempts=5)
    assert dial(held(), OUT.NO_ANSWER, policy=policy).next_attempt_at == at(MONDAY, 14)


def test_a_call_back_waits_for_the_customers_time_and_stretches_the_expiry():
    later = NOW + timedelta(days=9)
    task = dial(held(), OUT.CALLBACK, callback_at=later)
    assert (task.status, task.next_attempt_at, task.callback_at) == (S.PENDING, later, later)
    assert task.expires_at == later + timedelta(days=1)
    soon = NOW + timedelta(hours=3)
    task = dial(held(), OUT.CALLBACK, callback_at=soon)
    assert task.expires_at == NOW + timedelta(days=5)  # already late enough


def test_the_dial_started_when_the_call_was_claimed():
    policy = FollowUpPolicy(lease_minutes=15)
    assert rules.dial_started(NOW + timedelta(minutes=15), policy) == NOW


def test_a_source_is_built_and_read_in_one_place():
    cases = {
        sources.of_visit(12): "visit:12",
        sources.of_vehicle_service(7, date(2027, 1, 31)): "vehicle:7:2027-01-31",
        sources.of_lapse(9, date(2025, 10, 2)): "customer:9:2025-10-02",
        sources.of_survey_response(3): "survey_response:3",
        sources.of_complaint_round(5, 2): "complaint:5:2",
    }
    for source, key in cases.items():
        assert source.key == key
        assert sources.Source.parse(key) == source
    assert FollowUpTask(source_key="complaint:5:2").source.is_a(sources.COMPLAINT)
    for junk in ("", "visit", "visit:", "visit:x", ":3", "bench:"):
        assert sources.Source.parse(junk) is None, junk
