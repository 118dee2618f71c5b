"""Reads for the call centre: the follow-up policy (cached), the agent's calls, the team's
queue, who holds a call."""

from datetime import date, datetime, timedelta

import pandas as pd
from django.db.models import Count, Q
from django.utils import timezone

from shopcalendar.rules import end_of, start_of
from shopcrm.cache import ProcessCache

from . import states
from .models import FollowUpPolicy, FollowUpTask

Status = FollowUpTask.Status
POLICY_CACHE_SECONDS = 30
_policy_cache = ProcessCache(POLICY_CACHE_SECONDS)
clear_policy_cache = _policy_cache.clear


def current_policy() -> FollowUpPolicy:
    """The follow-up policy, read on every "next call": cached in the process for a short
    while (dropped at once when this process saves it), so an administrator's change
    reaches every web process within POLICY_CACHE_SECONDS."""
    return _policy_cache.get("policy", FollowUpPolicy.current)


def held_calls(*, agent, now: datetime | None = None):
    """The calls ``agent`` holds: claimed, the lease not run out (normally one)."""
    return FollowUpTask.objects.filter(
        assigned_to=agent, status=Status.CLAIMED, lease_expires_at__gt=now or timezone.now()
    ).order_by("lease_expires_at")


def agent_holds_call_for(*, user, customer) -> bool:
    """An agent may see a customer's full phone only during the call they hold."""
    return held_calls(agent=user).filter(customer=customer).exists()


def held_call(*, agent) -> FollowUpTask | None:
    return held_calls(agent=agent).select_related("customer", "vehicle", "visit").first()


def tasks_for_call_page():
    """Tasks with what the call page shows (followups.access.call_for loads one of them)."""
    return FollowUpTask.objects.select_related(
        "customer", "vehicle", "visit", "visit__advisor", "assigned_to"
    )


def queue_counts(*, now: datetime | None = None) -> dict:
    """Due now, by kind, for the queue page."""
    now = now or timezone.now()
    rows = (
        FollowUpTask.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values("kind")
        .annotate(n=Count("id"))
    )
    return {row["kind"]: row["n"] for row in rows}


def my_calls_today(*, agent):
    start = start_of(timezone.localdate())
    return (
        FollowUpTask.objects.filter(attempts_made__agent=agent, attempts_made__ended_at__gte=start)
        .select_related("customer")
        .distinct()
        .order_by("-updated_at")[:50]
    )


def team_queue(*, filters: dict, now: datetime | None = None):
    now = now or timezone.now()
    queryset = FollowUpTask.objects.select_related("customer", "assigned_to", "visit")
    status = filters.get("status") or "open"
    if status == "open":
        queryset = queryset.filter(status__in=FollowUpTask.OPEN)
    elif status in Status.values:
        queryset = queryset.filter(status=status)
    if filters.get("kind") in FollowUpTask.Kind.values:
        queryset = queryset.filter(kind=filters["kind"])
    if filters.get("agent"):
        queryset = queryset.filter(assigned_to=filters["agent"])
    due = filters.get("due")
    if due == "now":
        queryset = queryset.filter(next_attempt_at__lte=now)
    elif due == "today":
        end = end_of(timezone.localdate())
        queryset = queryset.filter(next_attempt_at__lt=end)
    elif due == "overdue":
        queryset = queryset.filter(next_attempt_at__lt=now - timedelta(hours=24))
    return queryset.order_by("priority", "next_attempt_at", "pk")


def next_services(*, vehicles) -> dict:
    """{vehicle id: predicted next service date} (followups.states, METRICS.md's rule, the
    one the maintenance reminders use); vehicles never delivered are left out."""
    return states.next_services(vehicle_ids=[vehicle.pk for vehicle in vehicles])


def next_service_after(*, visit, day: date | None = None) -> tuple[date, int | None]:
    """The next service the visit being delivered on ``day`` (today) leads to: METRICS.md's
    rule through the vehicle states' own functions, as if this visit were the vehicle's
    latest (the state's ``due_day`` is the one after the previous delivery); and the
    odometer at which it falls due, this visit's reading plus the policy's interval."""
    policy = current_policy()
    registration = visit.vehicle.registration_date
    frame = pd.DataFrame(
        {
            "last_day": [pd.Timestamp(day or timezone.localdate())],
            "registration_date": [pd.Timestamp(registration) if registration else pd.NaT],
            "odometer_km": [visit.odometer_km],
        }
    )
    frame["avg_daily_km"] = states.average_daily_km(frame)
    due = states.predicted_next_service(frame, policy).iloc[0].date()
    km = visit.odometer_km + policy.service_interval_km if visit.odometer_km is not None else None
    return due, km


def win_back_calls(*, customer_ids) -> dict[int, FollowUpTask]:
    """{customer id: their latest win-back call}, whatever its state (waiting, being
    dialled, done, failed…), for the lapsed list: a manager sees who has one already."""
    latest: dict[int, FollowUpTask] = {}
    calls = FollowUpTask.objects.filter(
        kind=FollowUpTask.Kind.WIN_BACK, customer_id__in=list(customer_ids)
    ).order_by("customer_id", "-created_at", "-pk")
    for task in calls.select_related("assigned_to"):
        latest.setdefault(task.customer_id, task)
    return latest


def task_list_for_api(*, filters: dict):
    """Follow-up tasks for the read-back API (API.md): what the shop did about each visit
    and customer, newest changes last."""
    queryset = FollowUpTask.objects.select_related("customer", "visit")
    if filters.get("updated_since"):
        queryset = queryset.filter(updated_at__gt=filters["updated_since"])
    for name in ("kind", "status"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    if filters.get("visit_external_id"):
        queryset = queryset.filter(visit__external_id=filters["visit_external_id"])
    if filters.get("customer_external_id"):
        queryset = queryset.filter(customer__external_id=filters["customer_external_id"])
    return queryset
