"""Surveys against PostgreSQL: responses scored on save, invitations once per visit (twice,
two beats), tokens, the one submission, alerts, phone answers, template versions."""

import threading
from datetime import datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from followups.models import FollowUpTask
from messaging.backends import LocmemBackend
from messaging.models import Message
from messaging.services import REDACTED, message_send_due
from shopcalendar.models import ShopCalendar
from surveys import selectors, services, tokens
from surveys.models import Answer, SurveyInvitation, SurveyResponse, SurveyTemplate
from tests.surveys.conftest import make_delivered_visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
S = SurveyInvitation.Status

GOOD = {
    "rel_fixed_right": 5,
    "rel_on_time": 5,
    "res_prompt_reception": 5,
    "res_progress_updates": 4,
    "asr_explanation": 5,
    "asr_estimate_accuracy": 5,
    "emp_needs_understood": 5,
    "emp_care": 5,
    "tan_facility": 4,
    "tan_vehicle_clean": 5,
    "nps": 10,
}


def template():
    return selectors.template_default()


# ---------------------------------------------------------------- the default template


def test_default_template_ships_with_the_api_question_codes_in_both_languages():
    csi = template()
    codes = list(csi.questions.values_list("code", flat=True))
    assert codes == [*GOOD, "comment"]
    assert all(q.text and q.text_en for q in csi.questions.all())
    assert csi.questions.get(code="nps").kind == "nps"
    assert {q.dimension for q in csi.questions.filter(kind="scale")} == {
        "reliability",
        "responsiveness",
        "assurance",
        "empathy",
        "tangibles",
    }


def test_a_new_version_copies_the_questions_and_keeps_old_answers_on_the_old_version():
    visit = make_delivered_visit()
    old = template()
    answered = services.response_create(
        template=old,
        visit=visit,
        channel="web",
        answers=GOOD,
        submitted_at=timezone.now(),
        require_required=True,
    )
    assert selectors.template_in_use(old)
    new = services.template_new_version(template=old)
    old.refresh_from_db()
    assert (new.version, new.is_default, old.is_default) == (2, True, False)
    assert new.questions.count() == old.questions.count() == 12
    answered.refresh_from_db()
    assert answered.template == old
    assert template() == new
    assert SurveyTemplate.objects.filter(is_default=True).count() == 1


# ---------------------------------------------------------------- responses


def test_response_is_scored_on_save():
    visit = make_delivered_visit()
    response = services.response_create(
        template=template(),
        visit=visit,
        channel="web",
        answers={**GOOD, "comment": "  师傅很专业 "},
        submitted_at=timezone.now(),
        require_required=True,
    )
    # reliability 100, responsiveness (100+60)/2 = 80, assurance 100, empathy 100,
    # tangibles (60+100)/2 = 80 → .32·100+.22·80+.19·100+.16·100+.11·80 = 93.4
    assert response.csi == pytest.approx(93.4)
    assert (response.nps_class, response.is_alert, response.all_top_marks) == (
        "promoter",
        False,
        False,
    )
    assert response.answers.get(question__code="comment").text == "师傅很专业"
    assert response.answers.get(question__code="res_progress_updates").points == 60


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({"rel_fixed_right": 6}, "rel_fixed_right"),
        ({"rel_fixed_right": 0}, "rel_fixed_right"),
        ({"nps": 11}, "nps"),
        ({"nps": "九"}, "nps"),
        ({"rel_on_time": True}, "rel_on_time"),
        ({"teleport": 5}, "teleport"),
        ({"comment": "x" * 2001}, "comment"),
        ({}, "answers"),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_written(answers, field):
    visit = make_delivered_visit()
    with pytest.raises(ValidationError) as caught:
        services.response_create(
            template=template(),
            visit=visit,
            channel="web",
            answers=answers,
            submitted_at=timezone.now(),
            require_required=False,
        )
    assert field in caught.value.message_dict
    assert not SurveyResponse.objects.exists() and not Answer.objects.exists()


def test_required_answers_are_enforced_where_asked():
    visit = make_delivered_visit()
    with pytest.raises(ValidationError) as caught:
        services.response_create(
            template=template(),
            visit=visit,
            channel="web",
            answers={"rel_fixed_right": 5},
            submitted_at=timezone.now(),
            require_required=True,
        )
    assert "nps" in caught.value.message_dict and "comment" not in caught.value.message_dict


def test_an_alert_creates_one_service_recovery_call_due_within_24_hours():
    visit = make_delivered_visit()
    response = services.response_create(
        template=template(),
        visit=visit,
        channel="web",
        answers={**GOOD, "rel_fixed_right": 2},
        submitted_at=timezone.now(),
        require_required=True,
    )
    assert response.is_alert
    task = FollowUpTask.objects.get(kind=FollowUpTask.Kind.SERVICE_RECOVERY)
    assert task.source_key == f"survey_response:{response.pk}"
    assert task.due_at <= timezone.now() + timedelta(hours=24)
    assert "rel_fixed_right=2" in task.reason
    services.recovery_call_create(response=response)  # again: nothing new
    assert FollowUpTask.objects.filter(kind=FollowUpTask.Kind.SERVICE_RECOVERY).count() == 1


# ---------------------------------------------------------------- invitations


def test_delivery_schedules_one_invitation_after_the_policy_delay():
    visit = make_delivered_visit()
    first = services.invitation_create_for_visit(visit_id=visit.pk)
    second = services.invitation_create_for_visit(visit_id=visit.pk)
    assert first == second and SurveyInvitation.objects.count() == 1
    assert first.due_at == visit.delivered_at + timedelta(hours=24)
    assert first.status == S.SCHEDULED and first.channel == "sms"


@pytest.mark.parametrize(
    "customer", [{"consent": False}, {"consent": True, "do_not_contact": True}]
)
def test_no_invitation_without_consent_or_for_do_not_contact(customer):
    visit = make_delivered_visit(**customer)
    assert services.invitation_create_for_visit(visit_id=visit.pk) is None
    assert not SurveyInvitation.objects.exists()


def test_consent_withdrawn_before_sending_skips_the_invitation():
    """Asked again when the sweep sends it (before, only do-not-contact was)."""
    visit = make_delivered_visit(hours_ago=30)
    invitation = services.invitation_create_for_visit(visit_id=visit.pk)
    visit.customer.marketing_consent = False
    visit.customer.save()
    assert services.invitation_sweep_due()["skipped"] == 1
    invitation.refresh_from_db()
    assert (invitation.status, invitation.skip_reason) == (S.SKIPPED, "no consent")
    assert not Message.objects.exists()


def test_preferred_channel_is_used_when_the_customer_has_that_address():
    visit = make_delivered_visit(preferred_channel="email", email="wang@example.com")
    assert services.invitation_create_for_visit(visit_id=visit.pk).channel == "email"
    no_address = make_delivered_visit(preferred_channel="wechat")
    assert services.invitation_create_for_visit(visit_id=no_address.pk).channel == "sms"


def sent_tokens() -> list[str]:
    """The links in the outbox (the only place the raw token exists until the message is
    sent) or, for a message sent, in what the sender was given."""
    sent = {message.pk: message for message in LocmemBackend.outbox}
    return [
        (sent.get(m.pk) or m).params["link"].rstrip("/").rsplit("/", 1)[1]
        for m in Message.objects.order_by("pk")
    ]


def test_sweep_sends_once_with_a_hashed_unguessable_token():
    visit = make_delivered_visit(hours_ago=30)
    invitation = services.invitation_create_for_visit(visit_id=visit.pk)
    now = timezone.now()
    assert services.invitation_sweep_due(now=now)["sent"] == 1
    assert services.invitation_sweep_due(now=now)["sent"] == 0
    assert Message.objects.filter(purpose="survey_invitation").count() == 1
    assert message_send_due() == 1 and len(LocmemBackend.outbox) == 1
    assert "/s/" in LocmemBackend.outbox[0].body
    (token,) = sent_tokens()
    # Once sent, the outbox keeps no usable link (issue 15, part 5).
    stored = Message.objects.get(purpose="survey_invitation")
    assert token not in stored.body and token not in str(stored.params)
    assert stored.params["date"] and stored.body.endswith(REDACTED)  # the rest as it was
    invitation.refresh_from_db()
    assert invitation.status == S.SENT
    assert len(token) >= 22  # 24 random bytes: 192 bits, base64url
    assert invitation.token_hash == tokens.hash_token(token) != token
    assert token not in str(list(SurveyInvitation.objects.values_list()))
    assert invitation.expires_at == now + timedelta(days=14)


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_send_each_invitation_once(django_db_blocker):
    visits = [make_delivered_visit(hours_ago=30) for _ in range(8)]
    for visit in visits:
        services.invitation_create_for_visit(visit_id=visit.pk)
    barrier = threading.Barrier(2)
    results = []

    def beat():
        with django_db_blocker.unblock():
            barrier.wait()
            results.append(services.invitation_sweep_due()["sent"])
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(results) == 8
    assert Message.objects.filter(purpose="survey_invitation").count() == 8
    assert SurveyInvitation.objects.filter(status=S.SENT).count() == 8


def test_not_yet_due_and_quiet_hours_send_nothing():
    visit = make_delivered_visit(hours_ago=2)  # due 24 h after delivery
    invitation = services.invitation_create_for_visit(visit_id=visit.pk)
    assert services.invitation_sweep_due()["sent"] == 0
    calendar = ShopCalendar.current()
    calendar.contact_start, calendar.contact_end = time(9, 0), time(20, 0)
    calendar.save()
    tomorrow = timezone.localdate() + timedelta(days=1)
    night = timezone.make_aware(datetime.combine(tomorrow, time(23, 0)))
    assert services.invitation_sweep_due(now=night)["sent"] == 0  # due, but quiet hours
    morning = timezone.make_aware(datetime.combine(tomorrow + timedelta(days=1), time(9, 30)))
    assert services.invitation_sweep_due(now=morning)["sent"] == 1
    invitation.refresh_from_db()
    assert invitation.sent_at == morning


def test_reminder_once_after_three_days_then_expiry_after_fourteen():
    visit = make_delivered_visit(hours_ago=30)
    invitation = services.invitation_create_for_visit(visit_id=visit.pk)
    start = timezone.now()
    services.invitation_sweep_due(now=start)
    assert services.invitation_sweep_due(now=start + timedelta(days=2))["reminded"] == 0
    assert services.invitation_sweep_due(now=start + timedelta(days=3, minutes=1))["reminded"] == 1
    assert services.invitation_sweep_due(now=start + timedelta(days=4))["reminded"] == 0
    assert Message.objects.filter(purpose="survey_reminder").count() == 1
    first, reminder = sent_tokens()
    invitation.refresh_from_db()
    # both links lead to the same invitation
    assert selectors.invitation_get_by_token(first) == selectors.invitation_get_by_token(reminder)
    assert services.invitation_sweep_due(now=start + timedelta(days=14, minutes=1))["expired"] == 1
    invitation.refresh_from_db()
    assert invitation.status == S.EXPIRED
    assert selectors.invitation_state(selectors.invitation_get_by_token(first)) == "expired"


def test_answered_on_the_phone_means_no_invitation():
    visit = make_delivered_visit(hours_ago=30)
    invitation = services.invitation_create_for_visit(visit_id=visit.pk)
    services.response_create(
        template=template(),
        visit=visit,
        channel="phone",
        answers={"rel_fixed_right": 5, "nps": 9},
        submitted_at=timezone.now(),
        require_required=False,
    )
    invitation.refresh_from_db()
    assert invitation.status == S.SKIPPED
    assert services.invitation_sweep_due()["sent"] == 0 and not Message.objects.exists()
    assert services.invitation_create_for_visit(visit_id=visit.pk) is None  # answered already
    assert SurveyInvitation.objects.get() == invitation


# ---------------------------------------------------------------- the token and the submission


def sent_invitation():
    visit = make_delivered_visit(hours_ago=30)
    invitation = services.invitation_create_for_visit(visit_id=visit.pk)
    services.invitation_sweep_due()
    invitation.refresh_from_db()
    return invitation, sent_tokens()[-1]


def test_guessed_tokens_find_nothing():
    sent_invitation()
    for guess in ["", "x", "A" * 32, "../../etc/passwd", "\x00", "a" * 500]:
        assert selectors.invitation_state(selectors.invitation_get_by_token(guess)) == "invalid"


def test_one_submission_only():
    invitation, token = sent_invitation()
    found = selectors.invitation_get_by_token(token)
    assert selectors.invitation_state(found) == "open"
    response = services.response_submit_public(invitation=found, answers=GOOD)
    assert response.channel == "sms" and response.invitation == invitation
    again = services.response_submit_public(invitation=found, answers=GOOD)
    assert again is None
    assert SurveyResponse.objects.count() == 1
    assert selectors.invitation_state(selectors.invitation_get_by_token(token)) == "answered"


def test_a_bad_submission_writes_nothing_and_leaves_the_link_open():
    invitation, _token = sent_invitation()
    with pytest.raises(ValidationError):
        services.response_submit_public(invitation=invitation, answers={"rel_fixed_right": 9})
    invitation.refresh_from_db()
    assert invitation.status == S.SENT and not SurveyResponse.objects.exists()


def test_quick_completion_is_flagged_not_hidden():
    invitation, _token = sent_invitation()
    opened = timezone.now()
    services.invitation_mark_opened(invitation=invitation, now=opened)
    invitation.refresh_from_db()
    response = services.response_submit_public(
        invitation=invitation, answers=GOOD, now=opened + timedelta(seconds=6)
    )
    assert response.duration_seconds == 6 and response.completed_quickly


def test_an_advisor_with_top_marks_far_above_the_shop_is_flagged():
    from surveys import selectors
    from surveys.models import SurveyPolicy
    from tests.factories import UserFactory

    policy = SurveyPolicy.current()
    policy.top_marks_min_responses = 3
    policy.save()
    perfect = UserFactory(role="advisor", username="perfect")
    honest = UserFactory(role="advisor", username="honest")
    all_five = {code: 5 for code in GOOD if code != "nps"}
    for advisor, answers in [(perfect, all_five)] * 3 + [(honest, GOOD)] * 3:
        visit = make_delivered_visit()
        visit.advisor = advisor
        visit.save()
        services.response_create(
            template=template(),
            visit=visit,
            channel="web",
            answers=answers,
            submitted_at=timezone.now(),
            require_required=False,
        )
    flagged = selectors.advisors_with_suspicious_top_marks(
        responses=selectors.response_list(filters={})
    )
    # shop: 3 of 6 all top marks (50 %); "perfect": 100 % ≥ 50 % + 25 points
    assert [(row["username"], row["top_rate"], row["shop_rate"]) for row in flagged] == [
        ("perfect", 1.0, 0.5)
    ]
    listed = selectors.response_list(filters={"flagged_only": True})
    assert {r.visit.advisor.username for r in listed} == {"perfect"}


def test_delivering_a_visit_schedules_its_invitation(advisor, django_capture_on_commit_callbacks):
    from decimal import Decimal

    from tests.factories import CustomerFactory, VisitFactory
    from visits import services as visit_services
    from visits.models import Visit

    visit = VisitFactory(
        status=Visit.Status.READY, vehicle__owner=CustomerFactory(marketing_consent=True)
    )
    with django_capture_on_commit_callbacks(execute=True):
        visit_services.visit_deliver(
            visit=visit, labour_amount=Decimal(1), parts_amount=Decimal(1), by=advisor
        )
    invitation = SurveyInvitation.objects.get()
    visit.refresh_from_db()
    assert (invitation.visit, invitation.status) == (visit, S.SCHEDULED)
    assert invitation.due_at == visit.delivered_at + timedelta(hours=24)


def test_admin_makes_a_new_version_and_cannot_edit_one_in_use(client):
    from django.urls import reverse

    from tests.factories import UserFactory

    client.force_login(UserFactory(role="admin", username="root-survey"))
    csi = template()
    change = reverse("admin:surveys_surveytemplate_change", args=[csi.pk])
    assert 'name="name"' in client.get(change).content.decode()  # not in use yet: editable
    services.response_create(
        template=csi,
        visit=make_delivered_visit(),
        channel="web",
        answers={"nps": 9},
        submitted_at=timezone.now(),
        require_required=False,
    )
    body = client.get(change).content.decode()
    assert 'name="name"' not in body  # in use: read-only
    response = client.post(
        reverse("admin:surveys_surveytemplate_changelist"),
        {"action": "make_new_version", "_selected_action": [csi.pk]},
    )
    assert response.status_code == 302
    assert template().version == 2 and template().questions.count() == 12
