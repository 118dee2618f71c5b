"""Complaints: taken by an owner who keeps them to the close (首问负责制), moved through a
state machine with every step on the timeline, held to an SLA in business hours, escalated
once per breach by a sweep, and closed only when the customer accepts the resolution."""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from followups import sources
from followups.models import FollowUpTask
from followups.services import task_create
from messaging.services import message_enqueue_staff
from shopcalendar import selectors as calendar
from shopcrm.errors import DomainError
from shopcrm.people import person_name

from .models import (
    Complaint,
    ComplaintEscalation,
    ComplaintEvent,
    ComplaintNumberSequence,
    ComplaintPolicy,
    Notification,
    Severity,
)
from .rules import allowed_transitions
from .selectors import complaint_for_callback, managers

S = Complaint.Status
Kind = ComplaintEvent.Kind

MAX_TEXT = 4000
_TAKER = object()  # the default owner: whoever takes the complaint


def complaint_number_next(*, year: int) -> str:
    """C-YYYY-NNNNNN: taken under the year's row lock inside the complaint's transaction, so
    a rolled-back complaint gives its number back and the sequence has no gaps."""
    ComplaintNumberSequence.objects.get_or_create(year=year)
    sequence = ComplaintNumberSequence.objects.select_for_update().get(year=year)
    sequence.last = F("last") + 1
    sequence.save(update_fields=["last"])
    sequence.refresh_from_db(fields=["last"])
    return f"C-{year}-{sequence.last:06d}"


def _event(complaint, kind, by, now, text="", from_status="", to_status=""):
    return ComplaintEvent.objects.create(
        complaint=complaint,
        kind=kind,
        actor=by,
        at=now,
        text=text,
        from_status=from_status,
        to_status=to_status,
    )


def _text(value, name, *, required=True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationError({name: [_("必填。")]})
    if len(value) > MAX_TEXT or "\x00" in value:
        raise ValidationError(
            {name: [_("最多 %(max)s 个字，且不能含有控制字符。") % {"max": MAX_TEXT}]}
        )
    return value


def complaint_create(
    *,
    customer: Customer,
    by,
    category: str,
    severity: str,
    channel: str,
    description: str,
    vehicle=None,
    visit=None,
    follow_up_task: FollowUpTask | None = None,
    survey_response=None,
    received_at: datetime | None = None,
    external_id: str | None = None,
    owner=_TAKER,
) -> Complaint:
    """Take a complaint: its number, its SLA deadlines, its owner (the person taking it; an
    API client's complaint is owned by whoever acknowledges it first)."""
    now = timezone.now()
    received_at = received_at or now
    errors = {}
    for name, value, choices in (
        ("category", category, Complaint.Category.values),
        ("severity", severity, Severity.values),
        ("channel", channel, Complaint.Channel.values),
    ):
        if value not in choices:
            errors[name] = [_("请选择一项。")]
    try:
        description = _text(description, "description")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if visit is not None and visit.customer_id != customer.pk:
        errors["visit"] = [_("这张工单不属于该客户。")]
    if received_at > now:
        errors["received_at"] = [_("受理时间不能在将来。")]
    if errors:
        raise ValidationError(errors)
    if visit is not None and vehicle is None:
        vehicle = visit.vehicle
    policy = ComplaintPolicy.current()
    response_hours, resolution_hours = policy.hours_for(severity)
    with transaction.atomic():
        complaint = Complaint.objects.create(
            number=complaint_number_next(year=timezone.localtime(received_at).year),
            customer=customer,
            vehicle=vehicle,
            visit=visit,
            channel=channel,
            category=category,
            severity=severity,
            description=description,
            owner=by if owner is _TAKER else owner,
            received_at=received_at,
            first_response_due_at=calendar.add_business_hours(received_at, response_hours),
            resolution_due_at=calendar.add_business_hours(received_at, resolution_hours),
            follow_up_task=follow_up_task,
            survey_response=survey_response,
            external_id=external_id,
        )
        _event(complaint, Kind.CREATED, by, now, description, to_status=S.NEW)
    return complaint


def complaint_create_from_call(
    *, task: FollowUpTask, by, note: str = "", survey_response=None
) -> Complaint:
    """The customer raised an issue on a follow-up call: it is a complaint at once, in the
    transaction that records the call, owned by the agent and holding the call's note
    (category "other", severity medium until the agent completes it: an agent who leaves
    the form still leaves a complaint, not just a note — issue 16, bug 11)."""
    return complaint_create(
        customer=task.customer,
        by=by,
        category=Complaint.Category.OTHER,
        severity=Severity.MEDIUM,
        channel=Complaint.Channel.FOLLOW_UP,
        description=note.strip()[:MAX_TEXT],  # the call's rules asked for it
        vehicle=task.vehicle,
        visit=task.visit,
        follow_up_task=task,
        survey_response=survey_response,
    )


def complaint_complete(
    *, complaint: Complaint, by, category: str, severity: str, description: str, visit=None
) -> Complaint:
    """The taker completes a complaint made from a call (or corrects a new one): category,
    severity, description and visit. Only while it is open; the deadlines follow the new
    severity from the time it was received. Recorded on the timeline."""
    errors = {}
    if category not in Complaint.Category.values:
        errors["category"] = [_("请选择一项。")]
    if severity not in Severity.values:
        errors["severity"] = [_("请选择一项。")]
    try:
        description = _text(description, "description")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not description.strip():
        errors["description"] = [_("请填写投诉内容。")]
    if visit is not None and visit.customer_id != complaint.customer_id:
        errors["visit"] = [_("这张工单不属于该客户。")]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    with transaction.atomic():
        complaint = _lock(complaint)
        if not complaint.is_open:
            raise DomainError(
                _("投诉 %(number)s 已“%(status)s”，不能再修改登记信息。")
                % {"number": complaint.number, "status": complaint.get_status_display()},
                code="not_open",
            )
        response_hours, resolution_hours = ComplaintPolicy.current().hours_for(severity)
        complaint.category, complaint.severity = category, severity
        complaint.description = description
        if visit is not None:
            complaint.visit, complaint.vehicle = visit, visit.vehicle
        complaint.first_response_due_at = calendar.add_business_hours(
            complaint.received_at, response_hours
        )
        complaint.resolution_due_at = calendar.add_business_hours(
            complaint.received_at, resolution_hours
        )
        complaint.save()
        _event(
            complaint,
            Kind.COMPLETED,
            by,
            now,
            _("类别：%(category)s；严重程度：%(severity)s")
            % {
                "category": complaint.get_category_display(),
                "severity": complaint.get_severity_display(),
            },
        )
    return complaint


def _lock(complaint: Complaint) -> Complaint:
    return Complaint.objects.select_for_update().get(pk=complaint.pk)


def _move(complaint: Complaint, to: str, by, now, kind, text="", only_from=None) -> Complaint:
    """Move along the lifecycle; ``only_from`` narrows it for an action that shares its
    target with another (start and reopen both lead to in_progress)."""
    if to not in allowed_transitions(complaint.status) or (
        only_from is not None and complaint.status not in only_from
    ):
        raise DomainError(
            _("投诉 %(number)s 当前为“%(status)s”，不能改为“%(to)s”。")
            % {
                "number": complaint.number,
                "status": complaint.get_status_display(),
                "to": S(to).label,
            },
            code="illegal_transition",
        )
    from_status = complaint.status
    complaint.status = to
    _event(complaint, kind, by, now, text, from_status=from_status, to_status=to)
    return complaint


@transaction.atomic
def complaint_acknowledge(*, complaint: Complaint, by, note: str = "") -> Complaint:
    """The first response: the customer has been contacted and told it is being handled.
    Whoever responds first owns a complaint that had no owner (one from the API)."""
    now = timezone.now()
    complaint = _lock(complaint)
    note = _text(note, "note", required=False)
    _move(complaint, S.ACKNOWLEDGED, by, now, Kind.ACKNOWLEDGED, note)
    complaint.acknowledged_at = now
    if complaint.owner_id is None:
        complaint.owner = by
    complaint.save()
    return complaint


@transaction.atomic
def complaint_start(*, complaint: Complaint, by) -> Complaint:
    now = timezone.now()
    complaint = _lock(complaint)
    _move(complaint, S.IN_PROGRESS, by, now, Kind.STARTED, only_from=(S.ACKNOWLEDGED,))
    complaint.save()
    return complaint


@transaction.atomic
def complaint_assign(*, complaint: Complaint, to, by) -> Complaint:
    """Someone else works on it; the owner stays the owner until the close."""
    complaint = _lock(complaint)
    if not complaint.is_open:
        raise DomainError(_("已解决或已关闭的投诉不能再分派。"), code="not_open")
    complaint.assignee = to
    complaint.save()
    _event(
        complaint,
        Kind.ASSIGNED,
        by,
        timezone.now(),
        _("分派给 %(name)s") % {"name": person_name(to)},
    )
    return complaint


@transaction.atomic
def complaint_add_note(*, complaint: Complaint, by, text: str, contact: bool = False):
    """A note, or a record of contact with the customer, on the timeline."""
    text = _text(text, "text")
    complaint = _lock(complaint)
    complaint.save(update_fields=["updated_at"])
    return _event(complaint, Kind.CONTACT if contact else Kind.NOTE, by, timezone.now(), text)


@transaction.atomic
def complaint_resolve(
    *, complaint: Complaint, by, resolution: str, root_cause: str, corrective_action: str
) -> Complaint:
    """Resolve with what was done, the root cause class and the corrective action; the
    customer is called back (one complaint-callback task per resolution) to accept it."""
    errors = {}
    try:
        resolution = _text(resolution, "resolution")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        corrective_action = _text(corrective_action, "corrective_action")
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if root_cause not in Complaint.RootCause.values:
        errors["root_cause"] = [_("请选择根本原因（价格/价值、流程/制度或人员）。")]
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    complaint = _lock(complaint)
    _move(complaint, S.RESOLVED, by, now, Kind.RESOLVED, resolution)
    complaint.resolution = resolution
    complaint.root_cause = root_cause
    complaint.corrective_action = corrective_action
    complaint.resolved_at = now
    complaint.resolution_round += 1
    complaint.customer_accepted = None
    complaint.save()
    task_create(
        kind=FollowUpTask.Kind.COMPLAINT_CALLBACK,
        source=sources.of_complaint_round(complaint.pk, complaint.resolution_round),
        customer=complaint.customer,
        vehicle=complaint.vehicle,
        visit=complaint.visit,
        due_at=now,
        reason=_("投诉 %(number)s 已处理，请确认客户是否接受：%(resolution)s")
        % {"number": complaint.number, "resolution": resolution[:80]},
    )
    return complaint


@transaction.atomic
def complaint_close(*, complaint: Complaint, by, accepted: bool | None = None) -> Complaint:
    now = timezone.now()
    complaint = _lock(complaint)
    _move(complaint, S.CLOSED, by, now, Kind.CLOSED)
    complaint.closed_at = now
    if accepted is not None:
        complaint.customer_accepted = accepted
    complaint.save()
    return complaint


@transaction.atomic
def complaint_reopen(*, complaint: Complaint, by, reason: str) -> Complaint:
    reason = _text(reason, "reason")
    now = timezone.now()
    complaint = _lock(complaint)
    _move(
        complaint, S.IN_PROGRESS, by, now, Kind.REOPENED, reason, only_from=(S.RESOLVED, S.CLOSED)
    )
    complaint.closed_at = None
    complaint.resolved_at = None
    complaint.save()
    return complaint


@transaction.atomic
def complaint_record_callback(*, task: FollowUpTask, by, accepted: bool, note: str = ""):
    """The complaint callback's outcome: accepted closes the complaint; not accepted
    reopens it and tells the owner."""
    complaint = complaint_for_callback(task=task)
    if complaint is None or complaint.status != S.RESOLVED:
        return None
    now = timezone.now()
    text = (_("客户接受处理结果") if accepted else _("客户不接受处理结果")) + (
        f"：{note}" if note else ""
    )
    _event(complaint, Kind.CALLBACK, by, now, text)
    if accepted:
        return complaint_close(complaint=complaint, by=by, accepted=True)
    complaint = complaint_reopen(complaint=complaint, by=by, reason=text)
    complaint.customer_accepted = False
    complaint.save(update_fields=["customer_accepted"])
    if complaint.owner_id:
        notification_send(
            users=[complaint.owner],
            text=_("投诉 %(number)s：客户不接受处理结果，已重新打开。")
            % {"number": complaint.number},
            url=reverse("complaints:detail", args=[complaint.pk]),
            key=f"complaint:{complaint.pk}:rejected:{complaint.resolution_round}",
        )
    return complaint


# ---------------------------------------------------------------- notifications


def notification_send(*, users, text: str, url: str, key: str) -> int:
    """One in-app notification per user and key, and an e-mail through the outbox to those
    with an address (unique per purpose, recipient and key there too)."""
    made = 0
    for user in {u.pk: u for u in users if u is not None}.values():
        try:
            with transaction.atomic():
                Notification.objects.create(user=user, text=text[:300], url=url, key=key)
        except IntegrityError:
            continue
        made += 1
        if user.email:
            message_enqueue_staff(
                purpose="complaint_notice",
                email=user.email,
                object_key=key,
                body=f"{text}\n{settings.SHOPCRM_PUBLIC_URL.rstrip('/')}{url}",
            )
    return made


# ---------------------------------------------------------------- the escalation sweep


def complaint_escalate_breaches(*, now: datetime | None = None) -> int:
    """Beat sweep: each breached deadline escalates once — an escalation row unique per
    (complaint, level, resolution round) decides, so two sweeps at once do it once."""
    now = now or timezone.now()
    escalated = 0
    late_response = Complaint.objects.filter(
        status=S.NEW, first_response_due_at__lte=now
    ).values_list("pk", flat=True)
    late_resolution = Complaint.objects.filter(
        status__in=Complaint.OPEN, resolution_due_at__lte=now
    ).values_list("pk", flat=True)
    for level, ids in (
        (ComplaintEscalation.Level.FIRST_RESPONSE, list(late_response)),
        (ComplaintEscalation.Level.RESOLUTION, list(late_resolution)),
    ):
        for pk in ids:
            escalated += _escalate(pk, level, now)
    return escalated


def _escalate(pk: int, level: int, now: datetime) -> int:
    with transaction.atomic():
        complaint = Complaint.objects.select_related("owner").get(pk=pk)
        round_ = complaint.resolution_round if level == ComplaintEscalation.Level.RESOLUTION else 0
        try:
            with transaction.atomic():
                ComplaintEscalation.objects.create(
                    complaint=complaint, level=level, round=round_, at=now
                )
        except IntegrityError:
            return 0  # already escalated, by this sweep earlier or by another one
        label = ComplaintEscalation.Level(level).label
        Complaint.objects.filter(pk=pk).update(
            escalation_level=F("escalation_level") + 1, updated_at=now
        )
        _event(complaint, Kind.ESCALATED, None, now, str(label))
        notification_send(
            users=[complaint.owner, complaint.assignee, *managers()],
            text=_("投诉 %(number)s %(what)s（%(severity)s）")
            % {
                "number": complaint.number,
                "what": label,
                "severity": complaint.get_severity_display(),
            },
            url=reverse("complaints:detail", args=[complaint.pk]),
            key=f"complaint:{pk}:escalation:{level}:{round_}",
        )
    return 1
