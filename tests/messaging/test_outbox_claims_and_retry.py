"""The outbox's claims, give-ups and retries (issue 15, part 7): a message being sent is
not taken again until its claim expires (two beats used to send an SMS twice), a message
that gives up marks the invitation it carried as not delivered, and a manager sends it
again from the app."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging import services
from messaging.backends import LocmemBackend, SendError
from messaging.models import Message
from surveys import services as survey_services
from surveys.models import SurveyInvitation
from tests.factories import CustomerFactory, UserFactory
from tests.surveys.conftest import calls_all_day, make_delivered_visit  # noqa: F401

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def queued(due_minutes_ago: int = 20) -> Message:
    message, _created = services.message_enqueue(
        purpose="maintenance_reminder",
        contact_purpose="marketing",
        customer=CustomerFactory(marketing_consent=True),
        object_key="vehicle:1:2026-12-01",
        body="保养提醒",
    )
    Message.objects.filter(pk=message.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=due_minutes_ago)
    )
    return message


def test_a_message_being_sent_is_not_taken_again_by_another_beat():
    """It was due 20 minutes ago (a backlog) and one sender has just taken it: the other
    beat's sweep used to call it stale by its due time, put it back and send it again."""
    message = queued(due_minutes_ago=20)
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING, claimed_at=now - timedelta(minutes=1)
    )
    assert services.message_send_due(now=now) == 0
    assert LocmemBackend.outbox == []
    assert Message.objects.get(pk=message.pk).status == Message.Status.SENDING


def test_a_claim_that_expired_is_sent_again_once():
    message = queued()
    now = timezone.now()
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING,
        claimed_at=now - services.CLAIM_EXPIRES - timedelta(seconds=1),
    )
    assert services.message_send_due(now=now) == 1
    assert services.message_send_due(now=now) == 0
    assert len(LocmemBackend.outbox) == 1
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and message.claimed_at is None


def test_a_sender_whose_claim_was_taken_over_writes_nothing():
    message = queued()
    old_claim = timezone.now() - timedelta(minutes=10)
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING, claimed_at=timezone.now()
    )
    assert services._finish(message, old_claim, status=Message.Status.SENT) is False
    assert Message.objects.get(pk=message.pk).status == Message.Status.SENDING


def gave_up_invitation() -> tuple[SurveyInvitation, Message]:
    visit = make_delivered_visit(hours_ago=30)
    invitation = survey_services.invitation_create_for_visit(visit_id=visit.pk)
    survey_services.invitation_sweep_due()
    message = Message.objects.get(purpose="survey_invitation")
    LocmemBackend.fail_next.append(SendError("号码已停机", permanent=True))
    assert services.message_send(message_id=message.pk) == Message.Status.GAVE_UP
    invitation.refresh_from_db()
    message.refresh_from_db()
    return invitation, message


def test_an_invitation_whose_message_gave_up_is_not_delivered_until_retried(
    django_capture_on_commit_callbacks,
):
    invitation, message = gave_up_invitation()
    assert invitation.status == SurveyInvitation.Status.UNDELIVERED
    assert invitation.sent_at is None  # not in the response rate's "sent"
    assert "/s/" in message.params["link"]  # kept for the retry: it was never delivered
    with django_capture_on_commit_callbacks(execute=True):
        services.message_retry(message=message, by=UserFactory(role="manager"))
    message.refresh_from_db()
    invitation.refresh_from_db()
    assert message.status == Message.Status.SENT and len(LocmemBackend.outbox) == 1
    assert invitation.status == SurveyInvitation.Status.SENT and invitation.sent_at
    assert "/s/" not in message.params["link"]  # sent: the link is gone from the outbox


def test_a_reminder_that_gives_up_leaves_the_invitation_sent():
    visit = make_delivered_visit(hours_ago=30)
    invitation = survey_services.invitation_create_for_visit(visit_id=visit.pk)
    start = timezone.now()
    survey_services.invitation_sweep_due(now=start)
    services.message_send_due()
    survey_services.invitation_sweep_due(now=start + timedelta(days=3, minutes=1))
    reminder = Message.objects.get(purpose="survey_reminder")
    LocmemBackend.fail_next.append(SendError("bad number", permanent=True))
    services.message_send(message_id=reminder.pk)
    invitation.refresh_from_db()
    assert invitation.status == SurveyInvitation.Status.SENT


def test_only_a_message_that_gave_up_can_be_retried():
    message = queued()
    with pytest.raises(Exception, match="已放弃"):
        services.message_retry(message=message, by=UserFactory(role="manager"))


@pytest.mark.parametrize("role", ["advisor", "agent"])
def test_only_managers_see_and_retry_undelivered_messages(client, role):
    _invitation, message = gave_up_invitation()
    client.force_login(UserFactory(role=role))
    assert client.get(reverse("messaging:undelivered")).status_code == 403
    assert client.post(reverse("messaging:retry", args=[message.pk])).status_code == 403
    assert Message.objects.get(pk=message.pk).status == Message.Status.GAVE_UP


def test_the_manager_sees_the_undelivered_message_masked_and_retries_it(
    client, django_capture_on_commit_callbacks
):
    _invitation, message = gave_up_invitation()
    client.force_login(UserFactory(role="manager"))
    team = client.get(reverse("followups:team")).content.decode()
    assert 'id="undelivered-alert"' in team and "1 条消息发送失败" in team
    page = client.get(reverse("messaging:undelivered")).content.decode()
    national = message.recipient.removeprefix("+86")
    assert national not in page and f"{national[:3]}****{national[-4:]}" in page
    assert "满意度调查邀请" in page and "号码已停机" in page
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(reverse("messaging:retry", args=[message.pk]), follow=True)
    assert "已重新发送" in answer.content.decode()
    assert Message.objects.get(pk=message.pk).status == Message.Status.SENT
    assert client.post(reverse("messaging:retry", args=[999999])).status_code == 404
    again = client.post(reverse("messaging:retry", args=[message.pk]), follow=True)
    assert "无需重发" in again.content.decode()


def test_the_undelivered_list_pages_by_fifty(client):
    customer = CustomerFactory()
    Message.objects.bulk_create(
        Message(
            purpose="maintenance_reminder",
            channel="sms",
            recipient=customer.phone,
            object_key=f"vehicle:{n}:2026-12-01",
            customer=customer,
            body="保养提醒",
            status=Message.Status.GAVE_UP,
            next_attempt_at=timezone.now(),
        )
        for n in range(51)
    )
    client.force_login(UserFactory(role="manager"))
    first = client.get(reverse("messaging:undelivered")).content.decode()
    assert 'href="?page=2"' in first and "1 / 2" in first
    second = client.get(reverse("messaging:undelivered"), {"page": 2}).content.decode()
    assert 'href="?page=1"' in second and second.count("重新发送</button>") == 1
