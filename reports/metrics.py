"""Every reported figure, exactly as ../shared/METRICS.md defines it — one place, used by the
dashboard, the exports and the API alike.

The period figures of visits, responses and invitations are ratios of the sums of the
daily summary table (reports.figures declares its columns, reports.daily keeps it: per
delivery day, advisor and service type, each column one aggregate over its own table, never
several aggregates across joins that would multiply rows); follow-up tasks and complaints
are one aggregate each. The as-of figures (churn, at risk, retention, segments) count rows of
the per-vehicle and per-customer state tables (followups.states, which the reminder and
win-back sweeps read too). Both kinds of table are brought up to date before each read.
Rates whose denominator is 0 are None."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd
from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Abs, Coalesce
from django.db.models.lookups import LessThanOrEqual
from django.utils import timezone

from complaints.models import Complaint
from followups import states
from followups.models import CustomerState, FollowUpPolicy, FollowUpTask, VehicleState
from messaging.models import Message
from shopcalendar.rules import end_of, start_of
from surveys.models import Dimension, SurveyResponse
from surveys.scoring import nps_of
from visits.models import Appointment, Recommendation, Visit, WorkItem

from . import daily, figures

REACHED = list(FollowUpTask.REACHED)
CUSTOMER_STATES = CustomerState._meta.db_table
VEHICLE_STATES = VehicleState._meta.db_table
BANDS = [(5, 50), (50, 150), (150, 300), (300, 500)]
AT_RISK_DAYS = 180
OVERDUE_GRACE_DAYS = 30


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    advisor: int | None = None
    service_type: str | None = None

    @property
    def since(self) -> datetime:
        return start_of(self.start)

    @property
    def until(self) -> datetime:
        return end_of(self.end)


def rate(numerator, denominator):
    return None if not denominator else numerator / denominator


# ---------------------------------------------------------------- the summary


def delivered_visits(period: Period):
    visits = Visit.objects.filter(
        status=Visit.Status.DELIVERED,
        delivered_at__gte=period.since,
        delivered_at__lt=period.until,
    )
    if period.advisor:
        visits = visits.filter(advisor_id=period.advisor)
    if period.service_type:
        visits = visits.filter(service_type=period.service_type)
    return visits


def _of_delivered_visits(model, period: Period):
    """Rows of ``model`` whose visit was delivered in the period — a join on the visit, so
    PostgreSQL can start from the visits' delivery-time index."""
    rows = model.objects.filter(
        visit__status=Visit.Status.DELIVERED,
        visit__delivered_at__gte=period.since,
        visit__delivered_at__lt=period.until,
    )
    if period.advisor:
        rows = rows.filter(visit__advisor_id=period.advisor)
    if period.service_type:
        rows = rows.filter(visit__service_type=period.service_type)
    return rows


def responses_of(period: Period):
    """Responses whose visit was delivered in the period (not when the answer came in)."""
    return _of_delivered_visits(SurveyResponse, period)


# For a visit (the outer query): a comeback (a repair of its vehicle checked in within 30
# days after its delivery) and a post-service call that reached the customer within 72 hours
# — declared once in reports.figures, which the daily table and its triggers use too.
came_back = figures.came_back
reached_within_72h = figures.reached_within_72h


def summary(period: Period, *, now: datetime | None = None, totals: dict | None = None) -> dict:
    """``totals``: the daily table's sums for the period (daily.totals), passed in when the
    caller has them."""
    now = now or timezone.now()
    totals = totals or daily.totals(period)
    result = {}
    result.update(_visit_figures(totals))
    result.update(_survey_figures(totals))
    result.update(_follow_up_figures(period))
    result.update(_complaint_figures(period, now, result["visits"]))
    result.update(repair_figures(period))
    result.update(return_figures(period))
    return result


def _visit_figures(totals: dict) -> dict:
    return {
        "visits": totals["visits"],
        # Judged against the first promise; the revised rate against the last (METRICS.md).
        "on_time_delivery_rate": rate(totals["on_time"], totals["promised"]),
        "on_time_revised_rate": rate(totals["on_time_revised"], totals["promised"]),
        "promise_revision_rate": rate(totals["revised"], totals["promised"]),
        "delivery_checklist_rate": rate(totals["checklist_complete"], totals["visits"]),
        "fixed_first_visit_rate": rate(totals["repairs"] - totals["came_back"], totals["repairs"]),
        "appointment_rate": rate(totals["by_appointment"], totals["visits"]),
        "followup_contact_rate_72h": rate(totals["contacted"], totals["visits"]),
    }


def survey_figures(period: Period, totals: dict | None = None) -> dict:
    return _survey_figures(totals or daily.totals(period))


def _survey_figures(totals: dict) -> dict:
    return {
        "csi": rate(totals["csi_sum"], totals["csi_count"]),
        "csi_dimensions": {
            name: rate(totals[f"{name}_sum"], totals[f"{name}_count"]) for name in Dimension.values
        },
        "nps": nps_of(totals["promoters"], totals["detractors"], totals["nps_answered"]),
        "survey_responses": totals["responses"],
        "survey_response_rate": rate(totals["invitations_completed"], totals["invitations_sent"]),
        "alerts": totals["alerts"],
    }


def _follow_up_figures(period: Period) -> dict:
    tasks = FollowUpTask.objects.filter(
        kind=FollowUpTask.Kind.POST_SERVICE, due_at__gte=period.since, due_at__lt=period.until
    )
    if period.advisor:
        tasks = tasks.filter(visit__advisor_id=period.advisor)
    if period.service_type:
        tasks = tasks.filter(visit__service_type=period.service_type)
    figures = tasks.aggregate(due=Count("pk"), reached=Count("pk", filter=Q(outcome__in=REACHED)))
    return {"followup_completion_rate": rate(figures["reached"], figures["due"])}


# ---------------------------------------------------------------- keeping the customer informed

ESTIMATE_TOLERANCE = Decimal("0.10")
MONEY = DecimalField(max_digits=12, decimal_places=2)
RECOMMENDATION_DAYS = 180


def _answered_extra(**filters):
    return WorkItem.objects.filter(
        visit_id=OuterRef("pk"),
        kind=WorkItem.Kind.EXTRA,
        status__in=filters.pop("status__in", WorkItem.ANSWERED),
        **filters,
    )


def extra_work_not_approved():
    """A visit with an extra-work item the customer declined or deferred (the drill-down of
    extra_work_approval_rate)."""
    return Exists(_answered_extra(status__in=[WorkItem.Status.DECLINED, WorkItem.Status.DEFERRED]))


def extra_work_answered():
    """A visit with an answered extra-work item (approval_turnaround_minutes' items)."""
    return Exists(_answered_extra(requested_at__isnull=False))


def _expected_total():
    """The check-in estimate plus the approved extra work (estimate_accuracy_rate)."""
    approved = (
        _answered_extra(status__in=[WorkItem.Status.APPROVED])
        .values("visit_id")
        .annotate(total=Sum(F("labour_estimate") + F("parts_estimate")))
        .values("total")
    )
    return ExpressionWrapper(
        F("estimated_amount") + Coalesce(Subquery(approved), Value(Decimal(0)), output_field=MONEY),
        output_field=MONEY,
    )


def _estimate_kept():
    return LessThanOrEqual(
        Abs(F("total_amount") - _expected_total()), _expected_total() * ESTIMATE_TOLERANCE
    )


HAS_ESTIMATE = Q(estimated_amount__isnull=False, total_amount__isnull=False)


def estimate_missed():
    """A visit with an estimate whose final total is more than 10 % off it (the drill-down
    of estimate_accuracy_rate)."""
    return HAS_ESTIMATE & ~Q(_estimate_kept())


def progress_notified():
    """A visit the customer heard from between check-in and delivery (progress_update_rate):
    a sent service notification other than the check-in confirmation."""
    return Exists(
        Message.objects.filter(
            visit_id=OuterRef("pk"),
            purpose__in=PROGRESS_PURPOSES,
            status=Message.Status.SENT,
            sent_at__gte=OuterRef("checked_in_at"),
            sent_at__lte=OuterRef("delivered_at"),
        )
    )


def repair_figures(period: Period) -> dict:
    """METRICS.md, "Keeping the customer informed during the repair": the extra work's
    approval and turnaround, the estimate's accuracy, the progress messages and the
    recommendations that came back (the promise and checklist figures are with the visits)."""
    visits = delivered_visits(period)
    answered = _answered_items(period)
    turnaround = sorted(
        (answered_at - requested_at).total_seconds() / 60
        for answered_at, requested_at in answered.values_list("answered_at", "requested_at")
    )
    approved = answered.filter(status=WorkItem.Status.APPROVED).count()
    estimate = visits.filter(HAS_ESTIMATE).aggregate(
        count=Count("pk"), kept=Count("pk", filter=Q(_estimate_kept()))
    )
    return {
        "extra_work_approval_rate": rate(approved, len(turnaround)),
        "approval_turnaround_minutes": _median(turnaround),
        "estimate_accuracy_rate": rate(estimate["kept"], estimate["count"]),
        "progress_update_rate": rate(visits.filter(progress_notified()).count(), visits.count()),
        "recommended_work_conversion_rate": recommended_work_conversion(period),
    }


def _answered_items(period: Period):
    """The answered extra-work items of the period's delivered visits (the approval rate's
    and the turnaround's rows)."""
    return _of_delivered_visits(WorkItem, period).filter(
        kind=WorkItem.Kind.EXTRA, status__in=WorkItem.ANSWERED, requested_at__isnull=False
    )


def repair_figures_by_advisor(period: Period) -> dict[int, dict]:
    """``repair_figures`` per advisor of the delivered visits (the recommendations by the
    advisor of the visit that found the item): the same rows and expressions, grouped, one
    query per figure whatever the number of advisors. Advisors with no delivered visit in the
    period and no old recommendation are absent."""
    parts: dict[int, dict] = {}

    def part(advisor_id):
        return parts.setdefault(
            advisor_id,
            {"turnaround": [], "approved": 0, "estimates": 0, "kept": 0, "visits": 0},
        )

    for advisor_id, status, answered_at, requested_at in _answered_items(period).values_list(
        "visit__advisor_id", "status", "answered_at", "requested_at"
    ):
        row = part(advisor_id)
        row["turnaround"].append((answered_at - requested_at).total_seconds() / 60)
        row["approved"] += status == WorkItem.Status.APPROVED
    grouped = (
        delivered_visits(period)
        .values("advisor_id")
        .annotate(
            visits=Count("pk"),
            notified=Count("pk", filter=Q(progress_notified())),
            estimates=Count("pk", filter=HAS_ESTIMATE),
            kept=Count("pk", filter=HAS_ESTIMATE & Q(_estimate_kept())),
        )
    )
    for values in grouped:
        part(values.pop("advisor_id")).update(values)
    conversion = {
        row["item__visit__advisor_id"]: rate(row["done"], row["old"])
        for row in _old_recommendations(period)
        .values("item__visit__advisor_id")
        .annotate(old=Count("pk"), done=Count("pk", filter=_recommendation_done()))
    }
    return {
        advisor_id: {
            "visits": row["visits"],
            "extra_work_approval_rate": rate(row["approved"], len(row["turnaround"])),
            "approval_turnaround_minutes": _median(sorted(row["turnaround"])),
            "estimate_accuracy_rate": rate(row["kept"], row["estimates"]),
            "progress_update_rate": rate(row.get("notified", 0), row["visits"]),
            "recommended_work_conversion_rate": conversion.get(advisor_id),
            # The denominators (the scorecard's observations).
            "estimates": row["estimates"],
            "extra_work_answered": len(row["turnaround"]),
        }
        for advisor_id, row in parts.items()
        if advisor_id is not None
    } | {
        advisor_id: {
            **dict.fromkeys(REPAIR_FIGURES),
            "visits": 0,
            "recommended_work_conversion_rate": value,
            "estimates": 0,
            "extra_work_answered": 0,
        }
        for advisor_id, value in conversion.items()
        if advisor_id is not None and advisor_id not in parts
    }


REPAIR_FIGURES = (
    "extra_work_approval_rate",
    "approval_turnaround_minutes",
    "estimate_accuracy_rate",
    "progress_update_rate",
    "recommended_work_conversion_rate",
)


# The service notifications that tell the customer how the repair goes (METRICS.md: the
# check-in confirmation excluded; the e-RO goes out after delivery).
PROGRESS_PURPOSES = [
    purpose
    for purpose in Message.SERVICE_NOTIFICATIONS
    if purpose != Message.Purpose.SERVICE_CHECKED_IN
]


def _median(values: list) -> float | None:
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def recommended_work_conversion(period: Period) -> float | None:
    """Among recommendations made 180 days or more before the period's end, the share done
    in a later visit of the same vehicle within 180 days of being recommended."""
    old = _old_recommendations(period)
    return rate(old.filter(_recommendation_done()).count(), old.count())


def _old_recommendations(period: Period):
    """Recommendations made 180 days or more before the period's end; with the period's
    advisor or service type, those found on such a visit."""
    rows = Recommendation.objects.filter(
        created_at__lte=period.until - timedelta(days=RECOMMENDATION_DAYS)
    )
    if period.advisor:
        rows = rows.filter(item__visit__advisor_id=period.advisor)
    if period.service_type:
        rows = rows.filter(item__visit__service_type=period.service_type)
    return rows


def _recommendation_done() -> Q:
    return Q(
        status=Recommendation.Status.DONE,
        done_visit__isnull=False,
        done_at__lte=F("created_at") + timedelta(days=RECOMMENDATION_DAYS),
    )


# ---------------------------------------------------------------- bringing the car back
# METRICS.md, "Bringing the car back". A maintenance reminder is its call task and the
# messages queued with it: they share one key (followups.sources.of_vehicle_service: one
# vehicle, one predicted service day), so a reminder sent by call and SMS is one reminder
# overall and one in each channel (docs/decisions.md).

REMINDER_DAYS = 30
WIN_BACK_DAYS = 60
REMINDER_CHANNELS = ("call", Message.Channel.SMS, Message.Channel.WECHAT)
# A message the contact rules stopped, or that gave up, reminded nobody; a call cancelled
# (the customer withdrew, the supervisor cancelled it) was never made.
MESSAGE_NOT_SENT = [Message.Status.CANCELLED, Message.Status.GAVE_UP]
REMINDER_STEPS = ("reminded", "booked", "arrived", "delivered")


def _within(field: str, days: int) -> dict:
    """``field`` from the outer row's created_at to ``days`` days after it."""
    start = OuterRef("created_at")
    return {f"{field}__gte": start, f"{field}__lte": start + timedelta(days=days)}


def came_in(days: int, *, key: str = "vehicle_id", outer: str | None = None):
    """For a reminder (the outer row, with created_at and ``outer``): an appointment of the
    same vehicle (or customer: ``key``) created, or a visit of it checked in (not
    cancelled), within ``days`` days after it."""
    ref = OuterRef(outer or key)
    appointments = Appointment.objects.filter(**{key: ref}, **_within("created_at", days))
    visits = Visit.objects.filter(**{key: ref}, **_within("checked_in_at", days)).exclude(
        status=Visit.Status.CANCELLED
    )
    return Exists(appointments) | Exists(visits)


def _booked_after_reminder():
    """The reminded vehicle's appointments created within the 30 days (the outer row is the
    reminder's call task)."""
    return Appointment.objects.filter(
        vehicle_id=OuterRef("vehicle_id"), **_within("created_at", REMINDER_DAYS)
    )


def reminder_step(step: str):
    """The condition of each funnel step on a reminder (its task), each inside the one
    before: booked, then that appointment arrived, then its visit delivered. The funnel's
    count and its drill-down share it."""
    booked = _booked_after_reminder()
    arrived = booked.filter(status=Appointment.Status.ARRIVED)
    return {
        "reminded": Q(),
        "booked": Q(Exists(booked)),
        "arrived": Q(Exists(arrived)),
        "delivered": Q(Exists(arrived.filter(visit__status=Visit.Status.DELIVERED))),
    }[step]


def _in_period(rows, period: Period, field: str = "created_at"):
    return rows.filter(**{f"{field}__gte": period.since, f"{field}__lt": period.until})


def reminders(period: Period):
    """The maintenance reminders made in the period, one per vehicle and predicted service
    day: each its call task, counted when the call was not cancelled or a message of it
    went out."""
    sent = Message.objects.filter(
        purpose=Message.Purpose.MAINTENANCE_REMINDER, object_key=OuterRef("source_key")
    ).exclude(status__in=MESSAGE_NOT_SENT)
    tasks = _in_period(
        FollowUpTask.objects.filter(kind=FollowUpTask.Kind.MAINTENANCE_REMINDER), period
    )
    return tasks.filter(~Q(status=FollowUpTask.Status.CANCELLED) | Q(Exists(sent)))


def win_backs(period: Period):
    return _in_period(FollowUpTask.objects.filter(kind=FollowUpTask.Kind.WIN_BACK), period).exclude(
        status=FollowUpTask.Status.CANCELLED
    )


def reminder_messages(period: Period):
    """The maintenance reminder messages of the period that went out (or are going), each
    with the vehicle of its reminder (the call task of the same key)."""
    vehicle = FollowUpTask.objects.filter(
        kind=FollowUpTask.Kind.MAINTENANCE_REMINDER, source_key=OuterRef("object_key")
    ).values("vehicle_id")[:1]
    return (
        _in_period(Message.objects.filter(purpose=Message.Purpose.MAINTENANCE_REMINDER), period)
        .exclude(status__in=MESSAGE_NOT_SENT)
        .annotate(reminded_vehicle=Subquery(vehicle))
    )


def return_figures(period: Period) -> dict:
    """METRICS.md, "Bringing the car back": show rate, online share, the reminders' and
    win-backs' conversion, and the reminder funnel's counts. Appointment figures follow the
    period's advisor and service type; reminders and win-backs are the shop's (they have
    neither)."""
    converted = Q(came_in(REMINDER_DAYS))
    overall = reminders(period).aggregate(
        reminded=Count("pk"),
        converted=Count("pk", filter=converted),
        **{step: Count("pk", filter=reminder_step(step)) for step in REMINDER_STEPS[1:]},
    )
    calls = (
        _in_period(FollowUpTask.objects.filter(kind=FollowUpTask.Kind.MAINTENANCE_REMINDER), period)
        .exclude(status=FollowUpTask.Status.CANCELLED)
        .aggregate(reminded=Count("pk"), converted=Count("pk", filter=converted))
    )
    by_channel = {"call": rate(calls["converted"], calls["reminded"])}
    messages = {
        row["channel"]: row
        for row in reminder_messages(period)
        .values("channel")
        .annotate(
            reminded=Count("pk"),
            converted=Count("pk", filter=Q(came_in(REMINDER_DAYS, outer="reminded_vehicle"))),
        )
        .order_by()
    }
    for channel in REMINDER_CHANNELS[1:]:
        row = messages.get(channel, {"converted": 0, "reminded": 0})
        by_channel[channel] = rate(row["converted"], row["reminded"])
    back = win_backs(period).aggregate(
        tasks=Count("pk"),
        converted=Count("pk", filter=Q(came_in(WIN_BACK_DAYS, key="customer_id"))),
    )
    return {
        **appointment_figures(period),
        "reminder_conversion_rate": rate(overall["converted"], overall["reminded"]),
        "reminder_conversion_rate_by_channel": by_channel,
        "win_back_conversion_rate": rate(back["converted"], back["tasks"]),
        "reminder_funnel": {step: overall[step] for step in REMINDER_STEPS},
    }


def appointments_of(period: Period):
    appointments = Appointment.objects.all()
    if period.advisor:
        appointments = appointments.filter(advisor_id=period.advisor)
    if period.service_type:
        appointments = appointments.filter(service_type=period.service_type)
    return appointments


def appointment_figures(period: Period) -> dict:
    scheduled = Q(scheduled_at__gte=period.since, scheduled_at__lt=period.until)
    created = Q(created_at__gte=period.since, created_at__lt=period.until)
    figures = (
        appointments_of(period)
        .filter(scheduled | created)
        .aggregate(
            judged=Count("pk", filter=scheduled & Q(status__in=Appointment.SHOWN_OR_NOT)),
            arrived=Count("pk", filter=scheduled & Q(status=Appointment.Status.ARRIVED)),
            booked=Count("pk", filter=created),
            online=Count("pk", filter=created & Q(source=Appointment.Source.ONLINE)),
        )
    )
    return {
        "booking_show_rate": rate(figures["arrived"], figures["judged"]),
        "online_booking_share": rate(figures["online"], figures["booked"]),
    }


def complaints_of(period: Period):
    complaints = Complaint.objects.filter(
        received_at__gte=period.since, received_at__lt=period.until
    )
    if period.advisor:
        complaints = complaints.filter(visit__advisor_id=period.advisor)
    if period.service_type:
        complaints = complaints.filter(visit__service_type=period.service_type)
    return complaints


def _complaint_figures(period: Period, now: datetime, visits: int) -> dict:
    complaints = complaints_of(period)
    response_met = Q(acknowledged_at__isnull=False, acknowledged_at__lte=F("first_response_due_at"))
    resolution_met = Q(resolved_at__isnull=False, resolved_at__lte=F("resolution_due_at"))
    figures = complaints.aggregate(
        complaints=Count("pk"),
        response_judged=Count("pk", filter=Q(first_response_due_at__lte=now) | response_met),
        response_met=Count("pk", filter=response_met),
        resolution_judged=Count("pk", filter=Q(resolution_due_at__lte=now) | resolution_met),
        resolution_met=Count("pk", filter=resolution_met),
    )
    resolved = Complaint.objects.filter(resolved_at__gte=period.since, resolved_at__lt=period.until)
    if period.advisor:
        resolved = resolved.filter(visit__advisor_id=period.advisor)
    if period.service_type:
        resolved = resolved.filter(visit__service_type=period.service_type)
    # Few rows (complaints, not visits): the durations are summed here, the same on every
    # database.
    spans = [
        (resolved_at - received_at).total_seconds() / 3600
        for received_at, resolved_at in resolved.values_list("received_at", "resolved_at")
    ]
    return {
        "complaints": figures["complaints"],
        "complaint_rate_per_100_visits": None
        if not visits
        else 100 * figures["complaints"] / visits,
        "complaint_first_response_sla_rate": rate(
            figures["response_met"], figures["response_judged"]
        ),
        "complaint_resolution_sla_rate": rate(
            figures["resolution_met"], figures["resolution_judged"]
        ),
        "complaint_mean_hours_to_resolve": sum(spans) / len(spans) if spans else None,
    }


def complaint_categories(period: Period) -> list[dict]:
    """The Pareto table: count per category, descending, with the cumulative share."""
    rows = list(
        complaints_of(period)
        .values("category")
        .annotate(count=Count("pk"))
        .order_by("-count", "category")
    )
    return pareto(rows)


def pareto(rows: list[dict]) -> list[dict]:
    """``rows`` (each with a ``count``, already in descending order) with each row's share
    of the total and the cumulative share up to it."""
    total = sum(row["count"] for row in rows)
    running = 0
    table = []
    for row in rows:
        running += row["count"]
        table.append({**row, "share": row["count"] / total, "cumulative_share": running / total})
    return table


# ---------------------------------------------------------------- why customers leave


def advisor_before_call():
    """The advisor of the customer's last delivered visit before the call was made (the
    advisor the customer left), as a subquery on follow-up tasks; None without one."""
    return Subquery(
        Visit.objects.filter(
            customer_id=OuterRef("customer_id"),
            status=Visit.Status.DELIVERED,
            delivered_at__lt=OuterRef("created_at"),
        )
        .order_by("-delivered_at", "-pk")
        .values("advisor_id")[:1]
    )


def lost_calls_of(period: Period, reason: str | None = None):
    """The calls of the period (by the day the outcome was recorded) that carry a reason why
    the customer leaves, annotated with ``left_advisor`` (advisor_before_call), filtered to
    the period's advisor and to ``reason`` when given. The service type does not apply (the
    call is about the customer, not a visit)."""
    tasks = (
        FollowUpTask.objects.exclude(lost_reason="")
        .filter(completed_at__gte=period.since, completed_at__lt=period.until)
        .annotate(left_advisor=advisor_before_call())
    )
    if period.advisor:
        tasks = tasks.filter(left_advisor=period.advisor)
    if reason:
        tasks = tasks.filter(lost_reason=reason)
    return tasks


def lost_reasons(period: Period) -> list[dict]:
    """The Pareto of why customers leave: count per reason, descending (then by code), with
    its share and the cumulative share."""
    rows = list(
        lost_calls_of(period)
        .values("lost_reason")
        .annotate(count=Count("pk"))
        .order_by("-count", "lost_reason")
    )
    return [{"reason": row.pop("lost_reason"), **row} for row in pareto(rows)]


def lost_reasons_by_advisor(period: Period) -> list[dict]:
    """Per advisor left (advisor_before_call; None: no visit before the call) and reason:
    the count, advisors by their total descending, reasons descending within each."""
    rows = (
        lost_calls_of(period)
        .values("left_advisor", "lost_reason")
        .annotate(count=Count("pk"))
        .order_by()
    )
    by_advisor: dict = {}
    for row in rows:
        by_advisor.setdefault(row["left_advisor"], {})[row["lost_reason"]] = row["count"]
    table = [
        {
            "advisor": advisor,
            "total": sum(counts.values()),
            "reasons": dict(sorted(counts.items(), key=lambda item: (-item[1], item[0]))),
        }
        for advisor, counts in by_advisor.items()
    ]
    table.sort(key=lambda row: (-row["total"], row["advisor"] is None, row["advisor"] or 0))
    return table


# ---------------------------------------------------------------- churn and retention
# Read from the state tables (reports/states.py), brought up to date first.


def _standing_sql(where: str = "") -> str:
    """Per base customer at T: last visit day and the earliest predicted service of the
    vehicles whose latest visit at T was theirs."""
    return f"""
SELECT c.customer_id, c.last_day, d.due_day
  FROM {CUSTOMER_STATES} c
  LEFT JOIN (SELECT customer_id, MIN(due_day) AS due_day
               FROM {VEHICLE_STATES}
              WHERE last_day <= %s AND (next_day IS NULL OR next_day > %s)
              GROUP BY customer_id) d ON d.customer_id = c.customer_id
 WHERE c.last_day <= %s AND (c.next_day IS NULL OR c.next_day > %s) {where}"""


def _thresholds(as_of: date) -> dict:
    """METRICS.md's day counts as dates: more than N days before T is before T − N."""
    policy = FollowUpPolicy.current()
    return {
        "lapsed_before": as_of - timedelta(days=policy.churn_days),
        "risk_before": as_of - timedelta(days=AT_RISK_DAYS),
        "overdue_before": as_of - timedelta(days=OVERDUE_GRACE_DAYS),
    }


def churn(as_of: date) -> dict:
    states.refresh()
    limits = _thresholds(as_of)
    # At risk, in two disjoint parts: not lapsed and more than 180 days since the last visit;
    # or more recent than that and a vehicle of theirs overdue (an EXISTS over the few
    # recent customers, not a per-customer minimum over every vehicle).
    recent_from = max(limits["lapsed_before"], limits["risk_before"])
    sql = f"""
WITH c AS (SELECT customer_id, last_day FROM {CUSTOMER_STATES}
            WHERE last_day <= %s AND (next_day IS NULL OR next_day > %s))
SELECT COUNT(*),
       COALESCE(SUM(CASE WHEN last_day < %s THEN 1 ELSE 0 END), 0),
       COALESCE(SUM(CASE WHEN last_day >= %s AND last_day < %s THEN 1 ELSE 0 END), 0),
       (SELECT COUNT(*) FROM c
         WHERE c.last_day >= %s
           AND EXISTS (SELECT 1 FROM {VEHICLE_STATES} v
                        WHERE v.customer_id = c.customer_id AND v.due_day < %s
                          AND v.last_day <= %s AND (v.next_day IS NULL OR v.next_day > %s)))
  FROM c"""
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                as_of,
                as_of,
                limits["lapsed_before"],
                limits["lapsed_before"],
                limits["risk_before"],
                recent_from,
                limits["overdue_before"],
                as_of,
                as_of,
            ],
        )
        base, lapsed, long_ago, overdue = cursor.fetchone()
    at_risk = long_ago + overdue
    return {
        "as_of": as_of.isoformat(),
        "base": base,
        "lapsed": lapsed,
        "at_risk": at_risk,
        "churn_rate": rate(lapsed, base),
        "at_risk_rate": rate(at_risk, base),
        "retention_13m": retention_13m(as_of),
    }


def churn_frame(as_of: date, state: str = "") -> pd.DataFrame:
    """Per base customer (or only the lapsed / at-risk ones): last visit day, predicted next
    service, days since, lapsed, at risk."""
    states.refresh()
    limits = _thresholds(as_of)
    where, params = "", []
    if state == "lapsed":
        where, params = "AND c.last_day < %s", [limits["lapsed_before"]]
    elif state == "at_risk":
        where = "AND c.last_day >= %s AND (c.last_day < %s OR d.due_day < %s)"
        params = [limits["lapsed_before"], limits["risk_before"], limits["overdue_before"]]
    with connection.cursor() as cursor:
        cursor.execute(_standing_sql(where), [*[as_of] * 4, *params])
        rows = cursor.fetchall()
    frame = pd.DataFrame(rows, columns=["customer_id", "last_day", "due"])
    frame["last_day"] = pd.to_datetime(frame["last_day"])
    frame["due"] = pd.to_datetime(frame["due"])
    frame["days_since"] = (pd.Timestamp(as_of) - frame["last_day"]).dt.days
    frame["lapsed"] = frame["last_day"] < pd.Timestamp(limits["lapsed_before"])
    overdue = frame["due"] < pd.Timestamp(limits["overdue_before"])  # no due date: False
    frame["at_risk"] = ~frame["lapsed"] & (
        (frame["last_day"] < pd.Timestamp(limits["risk_before"])) | overdue
    )
    return frame


SERVICE_DUE_SHOWS = ("upcoming", "overdue", "")
SERVICE_DUE_COLUMNS = [
    "vehicle_id",
    "customer_id",
    "last_day",
    "visit_count",
    "odometer_km",
    "avg_daily_km",
    "due_day",
]


def _service_due_sql(as_of: date, within: int, show: str, select: str) -> tuple[str, list]:
    if show not in SERVICE_DUE_SHOWS:
        raise ValueError(show)
    until = as_of + timedelta(days=within)
    window, window_params = {
        "upcoming": ("s.due_day >= %s AND s.due_day <= %s", [as_of, until]),
        "overdue": ("s.due_day < %s", [as_of]),
        "": ("s.due_day <= %s", [until]),
    }[show]
    sql = f"""SELECT {select}
                FROM {VEHICLE_STATES} s
                JOIN customers_vehicle v ON v.id = s.vehicle_id AND v.is_active
               WHERE s.last_day <= %s AND (s.next_day IS NULL OR s.next_day > %s)
                 AND s.last_day >= %s AND {window}"""
    return sql, [as_of, as_of, _thresholds(as_of)["lapsed_before"], *window_params]


def service_due(as_of: date, *, within: int = 30, show: str = "") -> pd.DataFrame:
    """Vehicles by predicted next service at ``as_of`` (METRICS.md's rule, from the state in
    force at T): ``upcoming``, due from T to T + ``within`` days; ``overdue``, due before T;
    ``""``, both. Only vehicles still in service (active) whose last visit is not lapsed by
    the churn days: a lapsed customer belongs on the win-back list, not the reminder list.
    Ordered by due day, then vehicle."""
    states.refresh()
    sql, params = _service_due_sql(as_of, within, show, "s." + ", s.".join(SERVICE_DUE_COLUMNS))
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} ORDER BY s.due_day, s.vehicle_id", params)
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=SERVICE_DUE_COLUMNS)


def service_due_count(as_of: date, *, within: int = 30, show: str = "upcoming") -> int:
    """How many rows ``service_due`` would list."""
    states.refresh()
    sql, params = _service_due_sql(as_of, within, show, "COUNT(*)")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def retention_13m(as_of: date):
    """Customers with a visit delivered in the calendar month 13 months before ``as_of``'s
    month: the share with another visit delivered after their last visit of that month
    and on or before ``as_of``. A customer's state row starting in the month is their last
    of the month when the next one starts after it."""
    states.refresh()
    month = as_of.month - 13
    year = as_of.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT COALESCE(SUM(CASE WHEN next_day IS NULL OR next_day >= %s
                                        THEN 1 ELSE 0 END), 0),
                      COALESCE(SUM(CASE WHEN next_day >= %s AND next_day <= %s
                                        THEN 1 ELSE 0 END), 0)
                 FROM {CUSTOMER_STATES} WHERE last_day >= %s AND last_day < %s""",
            [following, following, as_of, first, following],
        )
        cohort, retained = cursor.fetchone()
    return rate(retained, cohort)


# ---------------------------------------------------------------- segments


def _band_case(index: int) -> str:
    low, high = BANDS[index]
    lower = ">=" if index < 2 else ">"
    return f"avg_daily_km {lower} {low} AND avg_daily_km {'<' if index == 0 else '<='} {high}"


SEGMENT_QUALIFIES = (
    "avg_daily_km >= 5 AND avg_daily_km <= 500 AND visit_count >= 4 AND registration_date <= %s"
)


def segments(as_of: date) -> dict:
    states.refresh()
    cutoff = _months_before(as_of, 3)
    bands = ", ".join(
        f"COALESCE(SUM(CASE WHEN {SEGMENT_QUALIFIES} AND {_band_case(i)} THEN 1 ELSE 0 END), 0)"
        for i in range(len(BANDS))
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT COUNT(*), {bands}
                  FROM {VEHICLE_STATES}
                 WHERE last_day <= %s AND (next_day IS NULL OR next_day > %s)""",
            [*[cutoff] * len(BANDS), as_of, as_of],
        )
        vehicles, *counts = cursor.fetchone()
    qualified = sum(counts)
    return {
        "as_of": as_of.isoformat(),
        "vehicles": vehicles,
        "qualified": qualified,
        "qualified_share": rate(qualified, vehicles),
        "bands": [
            {"min_km": low, "max_km": high, "vehicles": n, "share": rate(n, qualified)}
            for (low, high), n in zip(BANDS, counts, strict=True)
        ],
    }


def qualifying_vehicles(as_of: date, band: int | None = None) -> pd.DataFrame:
    """The vehicles that qualify for the mileage analysis at ``as_of`` (in one band)."""
    states.refresh()
    where = f"AND {_band_case(band)}" if band is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT vehicle_id, visit_count, avg_daily_km FROM {VEHICLE_STATES}
                 WHERE last_day <= %s AND (next_day IS NULL OR next_day > %s)
                   AND {SEGMENT_QUALIFIES} {where}""",
            [as_of, as_of, _months_before(as_of, 3)],
        )
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=["vehicle_id", "visit_count", "avg_daily_km"])


def _months_before(day: date, months: int) -> date:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover
