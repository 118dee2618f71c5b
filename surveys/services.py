"""Surveys: answers validated against their template and scored on save, invitations sent
once per visit through the messaging outbox, alerts turned into service-recovery calls.

Everything that must happen once is guarded by the database: one invitation per visit
(OneToOne), one response per invitation and per follow-up call (OneToOne), one import per
external_id (unique), and the sweeps move invitations with conditional UPDATEs."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.contact import (
    Purpose,
    contactable,
    may_contact,
    message_channel_for,
    refusal_reason,
)
from followups import sources
from followups.models import FollowUpTask
from followups.services import task_create
from messaging.services import message_enqueue, sent_in_one_batch
from shopcalendar import selectors as calendar
from visits.models import Visit

from . import scoring, tokens
from .models import (
    Answer,
    Channel,
    Question,
    SurveyInvitation,
    SurveyPolicy,
    SurveyResponse,
    SurveyTemplate,
)
from .selectors import invitation_state, template_default

Status = SurveyInvitation.Status
# The invitation message's purpose, and its object_key's kind: "survey_invitation:<id>".
INVITATION_KEY = "survey_invitation"
MAX_TEXT = 2000


# ---------------------------------------------------------------- templates


@transaction.atomic
def template_new_version(*, template: SurveyTemplate) -> SurveyTemplate:
    """Copy a template and its questions as the next version; the copy takes over as the
    default if the original was. The original (and every answer given on it) stays."""
    latest = (
        SurveyTemplate.objects.select_for_update()
        .filter(code=template.code)
        .order_by("-version")
        .first()
    )
    was_default = template.is_default
    if was_default:
        SurveyTemplate.objects.filter(pk=template.pk).update(is_default=False)
    copy = SurveyTemplate.objects.create(
        code=template.code,
        version=latest.version + 1,
        name=template.name,
        name_en=template.name_en,
        is_default=was_default,
        point_map=template.point_map,
    )
    Question.objects.bulk_create(
        Question(
            template=copy,
            code=q.code,
            text=q.text,
            text_en=q.text_en,
            kind=q.kind,
            dimension=q.dimension,
            order=q.order,
            required=q.required,
            in_short_form=q.in_short_form,
            choices=q.choices,
        )
        for q in template.questions.all()
    )
    return copy


# ---------------------------------------------------------------- answers and scoring


def _scored(question: Question) -> scoring.ScoredQuestion:
    return scoring.ScoredQuestion(question.code, question.kind, question.dimension)


def validate_answers(
    *, template: SurveyTemplate, answers: dict, require_required: bool
) -> list[tuple[Question, int | None, str]]:
    """(question, value, text) for each answer, or a ValidationError keyed by question code:
    unknown code, a value of the wrong kind or out of range, a required answer missing."""
    questions = {q.code: q for q in template.questions.all()}
    errors: dict[str, list[str]] = {}
    cleaned = []
    for code, raw in answers.items():
        question = questions.get(code)
        if question is None:
            errors[str(code)] = [_("问卷中没有这道题。")]
            continue
        if raw is None or raw == "":
            continue
        value, text, message = _clean(question, raw)
        if message:
            errors[code] = [message]
        else:
            cleaned.append((question, value, text))
    if require_required:
        answered = {question.code for question, _value, _text in cleaned}
        for code, question in questions.items():
            if question.required and code not in answered and code not in errors:
                errors[code] = [_("请回答这道题。")]
    if not cleaned and not errors:
        errors["answers"] = [_("至少要回答一道题。")]
    if errors:
        raise ValidationError(errors)
    return sorted(cleaned, key=lambda item: (item[0].order, item[0].pk))


def _clean(question: Question, raw) -> tuple[int | None, str, str]:
    kind = question.kind
    if kind in (Question.Kind.SCALE, Question.Kind.NPS):
        low, high = (1, 5) if kind == Question.Kind.SCALE else (0, 10)
        if isinstance(raw, str) and raw.strip().isdigit():
            raw = int(raw.strip())
        if isinstance(raw, bool) or not isinstance(raw, int):
            return None, "", _("请填写 %(low)s 到 %(high)s 的整数。") % {"low": low, "high": high}
        if not low <= raw <= high:
            return None, "", _("超出范围：应为 %(low)s 到 %(high)s。") % {"low": low, "high": high}
        return raw, "", ""
    if kind == Question.Kind.YES_NO:
        if raw in (True, 1, "1", "yes", "true"):
            return 1, "", ""
        if raw in (False, 0, "0", "no", "false"):
            return 0, "", ""
        return None, "", _("请回答“是”或“否”。")
    if not isinstance(raw, str):
        return None, "", _("应为文字。")
    text = raw.strip()
    if "\x00" in text:
        return None, "", _("含有无法保存的字符。")
    if kind == Question.Kind.CHOICE and text not in question.choices:
        return None, "", _("可选值：%(values)s。") % {"values": ", ".join(question.choices)}
    if len(text) > MAX_TEXT:
        return None, "", _("最多 %(max)s 个字。") % {"max": MAX_TEXT}
    return None, text, ""


def response_create(
    *,
    template: SurveyTemplate,
    visit: Visit,
    channel: str,
    answers: dict,
    submitted_at: datetime,
    require_required: bool,
    invitation: SurveyInvitation | None = None,
    follow_up_task: FollowUpTask | None = None,
    external_id: str | None = None,
    recorded_by=None,
    duration_seconds: int | None = None,
) -> SurveyResponse:
    """Validate, score (METRICS.md) and save a response with its answers in one
    transaction; an alert creates the service-recovery call. Invalid answers raise a
    ValidationError and write nothing."""
    cleaned = validate_answers(
        template=template, answers=answers, require_required=require_required
    )
    result = scoring.score(
        [(_scored(question), value) for question, value, _text in cleaned], template.point_map
    )
    policy = SurveyPolicy.current()
    with transaction.atomic():
        response = SurveyResponse.objects.create(
            template=template,
            visit=visit,
            customer_id=visit.customer_id,
            invitation=invitation,
            follow_up_task=follow_up_task,
            channel=channel,
            external_id=external_id,
            submitted_at=submitted_at,
            duration_seconds=duration_seconds,
            csi=result.csi,
            dimension_scores=result.dimensions,
            nps_score=result.nps_score,
            nps_class=result.nps_class,
            is_alert=result.is_alert,
            all_top_marks=result.all_top_marks,
            completed_quickly=duration_seconds is not None
            and duration_seconds < policy.quick_seconds,
            recorded_by=recorded_by,
        )
        Answer.objects.bulk_create(
            Answer(
                response=response,
                question=question,
                value=value,
                text=text,
                points=result.points.get(question.code),
            )
            for question, value, text in cleaned
        )
        if channel == Channel.PHONE:
            # Answered on the phone: no invitation goes out for this visit any more.
            SurveyInvitation.objects.filter(visit=visit, status=Status.SCHEDULED).update(
                status=Status.SKIPPED, skip_reason="answered on the phone"
            )
        if result.is_alert:
            recovery_call_create(response=response, cleaned=cleaned)
    return response


def recovery_call_create(*, response: SurveyResponse, cleaned=None) -> FollowUpTask | None:
    """A service-recovery call due now (within 24 h), one per response."""
    now = timezone.now()
    visit = response.visit
    low = [
        f"{question.code}={value}"
        for question, value, _text in cleaned or []
        if scoring.is_low(question.kind, value)
    ]
    # Each score with its scale: an agent reading "NPS 5" took it for top marks.
    reason = _("调查预警：CSI %(csi)s，NPS %(nps)s") % {
        "csi": "—" if response.csi is None else f"{response.csi:.0f}/100",
        "nps": "—" if response.nps_score is None else f"{response.nps_score}/10",
    }
    if low:
        reason += " · " + ", ".join(low)
    task, _created = task_create(
        kind=FollowUpTask.Kind.SERVICE_RECOVERY,
        source=sources.of_survey_response(response.pk),
        customer=visit.customer,
        vehicle=visit.vehicle,
        visit=visit,
        due_at=now,
        expires_at=now + timedelta(days=7),
        reason=reason,
    )
    return task


# ---------------------------------------------------------------- invitations


def invitation_create_for_visit(*, visit_id: int) -> SurveyInvitation | None:
    """The survey invitation of a delivered visit, due after the policy's delay. None for
    do-not-contact customers, customers without consent, visits answered on the phone, or
    when no default template exists. Safe to call twice (one invitation per visit)."""
    visit = Visit.objects.select_related("customer").get(pk=visit_id)
    customer = visit.customer
    template = template_default()
    if (
        visit.status != Visit.Status.DELIVERED
        or visit.delivered_at is None
        or template is None
        or not may_contact(customer, Purpose.SURVEY)
        or visit.survey_responses.exists()
    ):
        return None
    policy = SurveyPolicy.current()
    channel = message_channel_for(customer)
    try:
        with transaction.atomic():
            invitation, _created = SurveyInvitation.objects.get_or_create(
                visit=visit,
                defaults={
                    "customer": customer,
                    "template": template,
                    "channel": channel,
                    "due_at": visit.delivered_at + timedelta(hours=policy.invitation_delay_hours),
                },
            )
    except IntegrityError:
        invitation = SurveyInvitation.objects.get(visit=visit)
    return invitation


def invitation_create_missing(*, now: datetime | None = None, limit: int = 2000) -> int:
    """The invitation of every visit delivered within the look-back that has none, no
    answer yet, and a customer the contact rules let us survey. The "visit delivered"
    event is the fast path; this is the guarantee (a broker down at the wrong moment loses
    the event's task, never the invitation). Returns how many visits it found without one."""
    now = now or timezone.now()
    if template_default() is None:
        return 0
    missing = list(
        Visit.objects.filter(
            status=Visit.Status.DELIVERED,
            delivered_at__gte=now - settings.SHOPCRM_DELIVERED_EVENT_LOOK_BACK,
            delivered_at__lte=now,
        )
        .filter(contactable(Purpose.SURVEY, prefix="customer__"))
        .exclude(Exists(SurveyInvitation.objects.filter(visit_id=OuterRef("pk"))))
        .exclude(Exists(SurveyResponse.objects.filter(visit_id=OuterRef("pk"))))
        .order_by("delivered_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in missing:
        invitation_create_for_visit(visit_id=pk)
    return len(missing)


def invitation_sweep_due(*, now: datetime | None = None, limit: int = 500) -> dict:
    """Beat sweep: create the invitations the event missed, send due invitations (in
    calling hours), remind once, expire. Every step is a conditional UPDATE on the
    invitation plus an outbox row unique per invitation, so two beats at once or a rerun
    send nothing twice."""
    now = now or timezone.now()
    counts = {"created": invitation_create_missing(now=now)}
    counts.update(sent=0, reminded=0, expired=0, skipped=0)
    policy = SurveyPolicy.current()
    counts["expired"] = _expire(now, policy)
    if not calendar.is_contact_time(now):
        return counts  # quiet hours: nothing goes out
    due = SurveyInvitation.objects.filter(status=Status.SCHEDULED, due_at__lte=now).values_list(
        "pk", flat=True
    )[:limit]
    reminders = SurveyInvitation.objects.filter(
        status=Status.SENT,
        reminded_at__isnull=True,
        sent_at__lte=now - timedelta(days=policy.reminder_after_days),
        expires_at__gt=now,
    ).values_list("pk", flat=True)[:limit]
    with sent_in_one_batch():
        for pk in list(due):
            outcome = _send(pk, now, policy)
            if outcome:
                counts[outcome] += 1
        for pk in list(reminders):
            counts["reminded"] += _remind(pk, now)
    return counts


def invitation_skip_refused(*, customer_ids) -> int:
    """Invitations to these customers not yet sent that the contact rules now refuse are
    skipped, with the reason (customers.events). The sweep asks the rules again when it
    sends."""
    skipped = 0
    waiting = (
        SurveyInvitation.objects.filter(customer_id__in=customer_ids, status=Status.SCHEDULED)
        .select_related("customer")
        .select_for_update(of=("self",))
    )
    for invitation in waiting:
        refused = refusal_reason(invitation.customer, Purpose.SURVEY)
        if refused:
            invitation.status, invitation.skip_reason = Status.SKIPPED, refused
            invitation.save(update_fields=["status", "skip_reason"])
            skipped += 1
    return skipped


def _expire(now: datetime, policy: SurveyPolicy) -> int:
    sent = SurveyInvitation.objects.filter(status=Status.SENT, expires_at__lte=now).update(
        status=Status.EXPIRED
    )
    never_sent = SurveyInvitation.objects.filter(
        status=Status.SCHEDULED, due_at__lte=now - timedelta(days=policy.expiry_days)
    ).update(status=Status.EXPIRED, skip_reason="not sent in time")
    return sent + never_sent


def _send(pk: int, now: datetime, policy: SurveyPolicy) -> str:
    token, token_hash = tokens.new_token()
    with transaction.atomic():
        invitation = (
            SurveyInvitation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("customer", "visit")
            .filter(pk=pk, status=Status.SCHEDULED)
            .first()
        )
        if invitation is None:
            return ""  # another sweep has it
        refused = refusal_reason(invitation.customer, Purpose.SURVEY)
        if refused or invitation.visit.survey_responses.exists():
            invitation.status = Status.SKIPPED
            invitation.skip_reason = refused or "answered on the phone"
            invitation.save(update_fields=["status", "skip_reason"])
            return "skipped"
        message, _created = _enqueue(invitation, token, purpose=INVITATION_KEY)
        if message is None:
            invitation.status, invitation.skip_reason = Status.SKIPPED, "no address or consent"
            invitation.save(update_fields=["status", "skip_reason"])
            return "skipped"
        invitation.status = Status.SENT
        invitation.token_hash = token_hash
        invitation.sent_at = now
        invitation.expires_at = now + timedelta(days=policy.expiry_days)
        invitation.save(update_fields=["status", "token_hash", "sent_at", "expires_at"])
    return "sent"


def _remind(pk: int, now: datetime) -> int:
    token, token_hash = tokens.new_token()
    with transaction.atomic():
        invitation = (
            SurveyInvitation.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("customer", "visit")
            .filter(pk=pk, status=Status.SENT, reminded_at__isnull=True)
            .first()
        )
        if invitation is None or not may_contact(invitation.customer, Purpose.SURVEY):
            return 0
        message, _created = _enqueue(invitation, token, purpose="survey_reminder")
        invitation.reminded_at = now
        invitation.reminder_token_hash = token_hash if message else None
        invitation.save(update_fields=["reminded_at", "reminder_token_hash"])
    return int(message is not None)


def _enqueue(invitation: SurveyInvitation, token: str, *, purpose: str):
    link = tokens.survey_link(token)
    date = timezone.localtime(invitation.visit.delivered_at).strftime("%m-%d")
    if purpose == "survey_reminder":
        body = _("【%(shop)s】还差 1 分钟：您对 %(date)s 的服务满意吗？请点击 %(link)s")
    else:
        body = _("【%(shop)s】感谢您 %(date)s 到店，请花 1 分钟评价本次服务：%(link)s")
    return message_enqueue(
        purpose=purpose,
        contact_purpose=Purpose.SURVEY,
        customer=invitation.customer,
        object_key=f"{INVITATION_KEY}:{invitation.pk}",
        body=body % {"shop": settings.SHOP_NAME, "date": date, "link": link},
        channel=invitation.channel or Channel.SMS,
        template_code=settings.SMS_TEMPLATE_SURVEY_INVITATION,
        params={"date": date, "link": link},
        secret_params=("link",),  # the token: not kept in the outbox once sent
    )


def invitation_mark_undelivered(*, object_key: str) -> int:
    """The invitation's message gave up: it was not delivered, so it is not counted as
    sent (METRICS.md's response rate) and its link is never reminded."""
    pk = _invitation_of(object_key)
    if pk is None:
        return 0
    return SurveyInvitation.objects.filter(pk=pk, status=Status.SENT).update(
        status=Status.UNDELIVERED, sent_at=None, skip_reason="message not delivered"
    )


def invitation_mark_resent(*, object_key: str, now: datetime | None = None) -> int:
    """A manager retried the invitation's message: it counts as sent from now, and its
    link lives the policy's days from now."""
    pk = _invitation_of(object_key)
    if pk is None:
        return 0
    now = now or timezone.now()
    return SurveyInvitation.objects.filter(pk=pk, status=Status.UNDELIVERED).update(
        status=Status.SENT,
        sent_at=now,
        expires_at=now + timedelta(days=SurveyPolicy.current().expiry_days),
        skip_reason="",
    )


def _invitation_of(object_key: str) -> int | None:
    kind, _sep, pk = object_key.partition(":")
    return int(pk) if kind == INVITATION_KEY and pk.isdigit() else None


# ---------------------------------------------------------------- the public page


def invitation_mark_opened(*, invitation: SurveyInvitation, now: datetime | None = None) -> None:
    SurveyInvitation.objects.filter(pk=invitation.pk, opened_at__isnull=True).update(
        opened_at=now or timezone.now()
    )


def response_submit_public(
    *, invitation: SurveyInvitation, answers: dict, now: datetime | None = None
) -> SurveyResponse | None:
    """The customer's one submission. None when the link was already used or has expired
    (a double-click or a resubmission writes nothing); a ValidationError for bad answers."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = SurveyInvitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation_state(locked, now) != "open":
            return None
        opened = locked.opened_at or now
        response = response_create(
            template=locked.template,
            visit=invitation.visit,
            channel=locked.channel,
            answers=answers,
            submitted_at=now,
            require_required=True,
            invitation=locked,
            duration_seconds=int((now - opened).total_seconds()),
        )
        locked.status, locked.completed_at = Status.COMPLETED, now
        locked.save(update_fields=["status", "completed_at"])
    return response


# ---------------------------------------------------------------- phone answers


def response_record_phone(
    *, task: FollowUpTask, agent, answers: dict, now: datetime | None = None
) -> SurveyResponse | None:
    """The short-form answers an agent took on the post-service call: a response with
    channel "phone" (one per call). Nothing when no answer was given."""
    answers = {code: value for code, value in answers.items() if value not in (None, "")}
    if not answers or task.visit is None:
        return None
    template = template_default()
    if template is None:
        return None
    return response_create(
        template=template,
        visit=task.visit,
        channel=Channel.PHONE,
        answers=answers,
        submitted_at=now or timezone.now(),
        require_required=False,
        follow_up_task=task,
        recorded_by=agent,
    )
