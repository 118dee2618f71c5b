"""Reads: the complaint list sorted by urgency, "my complaints", a complaint with its
timeline, SLA state for display, export rows, unread notifications."""

from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from followups import sources
from followups.models import FollowUpTask
from shopcalendar.rules import end_of, start_of
from shopcrm import roles

from .models import Complaint, ComplaintEvent, ComplaintPolicy, Notification

S = Complaint.Status
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}


def complaint_list(*, filters: dict, now: datetime | None = None) -> QuerySet:
    """Open complaints first, overdue first, then by the nearest deadline and severity."""
    now = now or timezone.now()
    complaints = Complaint.objects.select_related("customer", "owner", "assignee", "vehicle")
    if filters.get("status") == "open":
        complaints = complaints.filter(status__in=Complaint.OPEN)
    elif filters.get("status"):
        complaints = complaints.filter(status=filters["status"])
    for name in ("category", "severity"):
        if filters.get(name):
            complaints = complaints.filter(**{name: filters[name]})
    if filters.get("owner"):
        complaints = complaints.filter(owner=filters["owner"])
    if filters.get("mine"):
        user = filters["mine"]
        complaints = complaints.filter(Q(owner=user) | Q(assignee=user))
    if filters.get("overdue"):
        complaints = complaints.filter(overdue_q(now))
    if filters.get("start"):
        complaints = complaints.filter(received_at__gte=start_of(filters["start"]))
    if filters.get("end"):
        complaints = complaints.filter(received_at__lt=end_of(filters["end"]))
    if filters.get("customer"):
        complaints = complaints.filter(customer=filters["customer"])
    return complaints.annotate(
        open_rank=Case(When(status__in=Complaint.OPEN, then=Value(0)), default=Value(1)),
        severity_rank=Case(
            *[When(severity=key, then=Value(rank)) for key, rank in SEVERITY_RANK.items()],
            output_field=IntegerField(),
        ),
        next_deadline=Case(
            When(status=S.NEW, then="first_response_due_at"), default="resolution_due_at"
        ),
    ).order_by("open_rank", "next_deadline", "severity_rank", "-received_at")


def overdue_q(now: datetime) -> Q:
    return Q(status=S.NEW, first_response_due_at__lte=now) | Q(
        status__in=Complaint.OPEN, resolution_due_at__lte=now
    )


def sla_state(complaint: Complaint, now: datetime | None = None) -> dict:
    """For display: which deadline is running, and whether it is overdue or due soon (the
    last quarter of its window, or the last hour)."""
    now = now or timezone.now()
    if not complaint.is_open:
        return {"state": "done", "deadline": None, "label": ""}
    if complaint.status == S.NEW:
        deadline, label = complaint.first_response_due_at, "first_response"
    else:
        deadline, label = complaint.resolution_due_at, "resolution"
    window = deadline - complaint.received_at
    if deadline <= now:
        state = "overdue"
    elif deadline - now <= max(window / 4, timedelta(hours=1)):
        state = "due_soon"
    else:
        state = "on_track"
    return {"state": state, "deadline": deadline, "label": label}


def complaint_detail(*, pk: int) -> Complaint:
    return (
        Complaint.objects.select_related(
            "customer",
            "vehicle",
            "visit",
            "owner",
            "assignee",
            "follow_up_task",
            "survey_response",
        )
        .prefetch_related("events__actor", "survey_response__answers__question")
        .get(pk=pk)
    )


def unread_notifications(*, user) -> QuerySet:
    return Notification.objects.filter(user=user, read_at__isnull=True)


def complaint_list_for_api(*, filters: dict, created_by=None) -> QuerySet:
    """The API's complaints; with ``created_by``, only those that client created (the OEM
    hotline reads back its own complaints, not the shop's)."""
    complaints = Complaint.objects.select_related("customer", "visit", "owner")
    if created_by is not None:
        complaints = complaints.filter(
            pk__in=ComplaintEvent.objects.filter(
                kind=ComplaintEvent.Kind.CREATED, actor=created_by
            ).values("complaint_id")
        )
    if filters.get("updated_since"):
        complaints = complaints.filter(updated_at__gt=filters["updated_since"])
    for name in ("external_id", "status", "category", "severity"):
        if filters.get(name):
            complaints = complaints.filter(**{name: filters[name]})
    if filters.get("received_from"):
        complaints = complaints.filter(received_at__gte=start_of(filters["received_from"]))
    if filters.get("received_to"):
        complaints = complaints.filter(received_at__lt=end_of(filters["received_to"]))
    return complaints


def policy() -> ComplaintPolicy:
    return ComplaintPolicy.current()


def complaint_for_callback(*, task: FollowUpTask) -> Complaint | None:
    """The complaint a complaint-callback task asks the customer about."""
    if task.kind != FollowUpTask.Kind.COMPLAINT_CALLBACK:
        return None
    source = task.source
    if source is None or not source.is_a(sources.COMPLAINT):
        return None
    return Complaint.objects.filter(pk=source.pk).first()


def managers() -> list:
    """The active managers (told of every escalation)."""
    return list(get_user_model().objects.filter(groups__name=roles.MANAGER, is_active=True))


def complaint_from_call(*, task_id: int) -> Complaint | None:
    """The complaint an issue raised on the follow-up call ``task_id`` became, if any."""
    return Complaint.objects.filter(follow_up_task_id=task_id).order_by("pk").first()
