"""The retention sweep: what is older than the policy's periods goes, what is recent stays,
and a second run changes nothing."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from api.models import IdempotencyRecord
from customers.models import PhoneReveal
from messaging.models import Message
from privacy import services, tasks
from privacy.models import RetentionPolicy
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
NOTHING = {
    "message_bodies": 0,
    "phone_reveals": 0,
    "login_attempts": 0,
    "sessions": 0,
    "idempotency_records": 0,
}


def aged(model, row, days: int, field: str) -> None:
    model.objects.filter(pk=row.pk).update(**{field: timezone.now() - timedelta(days=days)})


def message(status, days, n):
    row = Message.objects.create(
        purpose="notice",
        channel="sms",
        recipient=f"+86139000000{n:02d}",
        object_key=f"m:{n}",
        body="您的爱车已修好",
        params={"plate": "粤B12345"},
        status=status,
        next_attempt_at=timezone.now(),
    )
    aged(Message, row, days, "created_at")
    return row


@pytest.fixture
def old_and_new():
    customer, user = CustomerFactory(), UserFactory(role="advisor")
    rows = {
        "old_sent": message(Message.Status.SENT, 181, 1),
        "old_cancelled": message(Message.Status.CANCELLED, 200, 2),
        "old_queued": message(Message.Status.QUEUED, 200, 3),  # not finished: kept
        "new_sent": message(Message.Status.SENT, 179, 4),
    }
    for days in (366, 364):
        reveal = PhoneReveal.objects.create(customer=customer, user=user, context="x")
        aged(PhoneReveal, reveal, days, "revealed_at")
        rows[f"reveal_{days}"] = reveal
    for model, extra in (
        (AccessAttempt, {"get_data": "", "post_data": "", "failures_since_start": 1}),
        (AccessLog, {}),
        (AccessFailureLog, {}),
    ):
        for days in (91, 89):
            attempt = model.objects.create(
                user_agent="t",
                ip_address="10.0.0.1",
                username=f"u{days}",
                http_accept="*",
                path_info="/accounts/login/",
                **extra,
            )
            aged(model, attempt, days, "attempt_time")
    for days in (8, 6):
        record = IdempotencyRecord.objects.create(
            client=user,
            key=f"k{days}",
            endpoint="customers",
            request_sha256="0" * 64,
            status_code=200,
            response={},
        )
        aged(IdempotencyRecord, record, days, "created_at")
    Session.objects.create(
        session_key="expired", session_data="", expire_date=timezone.now() - timedelta(days=1)
    )
    Session.objects.create(
        session_key="current", session_data="", expire_date=timezone.now() + timedelta(days=1)
    )
    return rows


def test_old_rows_go_and_recent_ones_stay(old_and_new):
    assert services.retention_sweep() == {
        "message_bodies": 2,
        "phone_reveals": 1,
        "login_attempts": 3,
        "sessions": 1,
        "idempotency_records": 1,
    }
    bodies = {
        key: Message.objects.get(pk=old_and_new[key].pk)
        for key in ("old_sent", "old_cancelled", "old_queued", "new_sent")
    }
    assert (bodies["old_sent"].body, bodies["old_sent"].params) == ("", {})
    assert bodies["old_sent"].recipient == "+8613900000001"  # the row and its key stay
    assert bodies["old_cancelled"].body == ""
    assert bodies["old_queued"].body and bodies["new_sent"].body
    assert list(PhoneReveal.objects.values_list("pk", flat=True)) == [old_and_new["reveal_364"].pk]
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        assert list(model.objects.values_list("username", flat=True)) == ["u89"]
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["k6"]
    assert list(Session.objects.values_list("session_key", flat=True)) == ["current"]


def test_a_second_run_changes_nothing(old_and_new):
    services.retention_sweep()
    assert services.retention_sweep() == NOTHING


def test_the_periods_are_the_administrators(old_and_new):
    policy = RetentionPolicy.current()
    policy.message_body_days, policy.phone_reveal_days = 400, 365 * 2
    policy.login_attempt_days, policy.idempotency_days = 30, 30
    policy.save()
    result = services.retention_sweep()
    assert result["message_bodies"] == 0 and result["phone_reveals"] == 0
    assert result["login_attempts"] == 6 and result["idempotency_records"] == 0


def test_the_defaults():
    policy = RetentionPolicy.current()
    assert (
        policy.message_body_days,
        policy.phone_reveal_days,
        policy.login_attempt_days,
        policy.idempotency_days,
    ) == (180, 365, 90, 7)


def test_the_task_runs_the_sweep_and_the_beat_runs_the_task_hourly(old_and_new):
    assert tasks.retention_sweep.apply().get()["message_bodies"] == 2
    assert tasks.retention_sweep.apply().get() == NOTHING
    entry = settings.CELERY_BEAT_SCHEDULE["privacy-retention-sweep"]
    assert entry == {"task": "privacy.tasks.retention_sweep", "schedule": 3600.0}
    # One rule for the idempotency records: the policy's, through this sweep.
    assert all(
        e["task"] != "api.tasks.prune_idempotency_records"
        for e in settings.CELERY_BEAT_SCHEDULE.values()
    )
