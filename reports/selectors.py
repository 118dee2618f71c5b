"""The rows behind a dashboard figure: visits, customers, vehicles."""

from datetime import date

import pandas as pd
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from complaints.models import Complaint
from customers.models import Customer, Vehicle
from followups import selectors as followup_selectors
from followups import sources
from followups.models import FollowUpTask
from shopcrm.people import person_name
from visits import rules as visit_rules
from visits.models import Appointment, Visit
from visits.rules import REPAIR_TYPES

from . import dashboard, metrics

# The drill-down filters of the visits report: each the complement (or the numerator) of
# a figure's condition, so the rows are exactly the ones the tile counts (visits.rules).
VISIT_FLAGS = {
    # Later than the first promise (on_time_delivery_rate) / than the last one.
    "late": visit_rules.PROMISED & ~visit_rules.ON_TIME_FIRST,
    "late_revised": visit_rules.PROMISED & ~visit_rules.ON_TIME_LAST,
    "revised": visit_rules.REVISED,
    "checklist_incomplete": ~visit_rules.CHECKLIST_COMPLETE,
    # The repair's figures (reports.metrics, "keeping the customer informed").
    "extra_work_not_approved": metrics.extra_work_not_approved(),
    "extra_work_answered": metrics.extra_work_answered(),
    "estimate_missed": metrics.estimate_missed(),
    "no_progress_update": ~metrics.progress_notified(),
    # A complaint linked to the visit (the scorecard's complaint_rate_per_100_visits).
    "complained": Exists(Complaint.objects.filter(visit_id=OuterRef("pk"))),
}


def visits_behind(
    period: metrics.Period, *, comeback=False, not_contacted=False, **flags
) -> QuerySet:
    """The period's delivered visits, narrowed by the flags set (VISIT_FLAGS, comeback,
    not_contacted)."""
    visits = metrics.delivered_visits(period).select_related("customer", "advisor", "vehicle")
    for name, condition in VISIT_FLAGS.items():
        if flags.get(name):
            visits = visits.filter(condition)
    if comeback:
        visits = visits.filter(service_type__in=REPAIR_TYPES).filter(metrics.came_back())
    if not_contacted:
        visits = visits.exclude(metrics.reached_within_72h())
    return visits.order_by("-delivered_at")


def visit_row(visit: Visit) -> list:
    def when(moment):
        return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""

    advisor = person_name(visit.advisor) if visit.advisor else visit.advisor_code
    return [
        visit.ro_number,
        when(visit.delivered_at),
        when(visit.first_promised_at),
        when(visit.promised_at),
        visit.promise_revisions,
        _("是") if visit.checklist_complete else _("否"),
        visit.get_service_type_display(),
        advisor,
        visit.customer.name,
    ]


STATE_LABELS = {
    "lapsed": gettext_lazy("已流失"),
    "at_risk": gettext_lazy("有流失风险"),
    "active": gettext_lazy("活跃"),
}


def customers_behind(*, as_of: date, state: str, tier: str) -> list[dict]:
    frame = metrics.churn_frame(as_of, state if state in ("lapsed", "at_risk") else "")
    if frame.empty:
        return []
    frame["state"] = "active"
    frame.loc[frame["at_risk"], "state"] = "at_risk"
    frame.loc[frame["lapsed"], "state"] = "lapsed"
    tiers = dashboard.value_tiers(as_of)["frame"]
    tier_of = dict(zip(tiers["customer_id"], tiers["tier"], strict=True)) if not tiers.empty else {}
    frame["tier"] = frame["customer_id"].map(tier_of).fillna("")
    if state:
        frame = frame[frame["state"] == state]
    if tier:
        frame = frame[frame["tier"] == tier]
    frame = frame.sort_values("days_since", ascending=False)
    names = dict(
        Customer.objects.filter(pk__in=list(frame["customer_id"])).values_list("pk", "name")
    )
    tier_labels = {
        "vip": "VIP",
        "core": _("核心"),
        "regular": _("普通"),
        "low": _("低价值"),
        "": "",
    }
    win_backs = followup_selectors.win_back_calls(customer_ids=names)
    return [
        {
            "customer_id": int(row.customer_id),
            "name": names.get(row.customer_id, ""),
            # The call already made or planned, so a manager does not ask for a second.
            "win_back": win_backs.get(row.customer_id),
            "last_day": row.last_day.date(),
            "days_since": int(row.days_since),
            "state": row.state,
            "state_label": str(STATE_LABELS[row.state]),
            "tier": row.tier,
            "tier_label": tier_labels[row.tier],
        }
        for row in frame.itertuples()
    ]


def vehicles_behind(*, as_of: date, band: int | None) -> list[dict]:
    frame = metrics.qualifying_vehicles(as_of, band)
    labels = {
        pk: plate or vin
        for pk, plate, vin in Vehicle.objects.filter(pk__in=list(frame["vehicle_id"])).values_list(
            "pk", "plate", "vin"
        )
    }
    return [
        {
            "vehicle_id": int(row.vehicle_id),
            "vehicle": labels.get(row.vehicle_id, ""),
            "visit_count": int(row.visit_count),
            "avg_daily_km": round(float(row.avg_daily_km), 1),
        }
        for row in frame.sort_values("avg_daily_km", ascending=False).itertuples()
    ]


def service_due_rows(*, as_of: date, within: int, show: str) -> list[dict]:
    """The predicted-next-service list: each vehicle with its customer, last visit, mileage,
    due day, days to go (negative: overdue) and the maintenance reminder call for that due
    day, if the sweep has made one."""
    frame = metrics.service_due(as_of, within=within, show=show)
    if frame.empty:
        return []
    vehicle_ids = [int(pk) for pk in frame["vehicle_id"]]
    vehicles = {
        vehicle.pk: vehicle
        for vehicle in Vehicle.objects.filter(pk__in=vehicle_ids).only(
            "plate", "vin", "brand", "model"
        )
    }
    customers = {
        pk: (name, do_not_contact)
        for pk, name, do_not_contact in Customer.objects.filter(
            pk__in={int(pk) for pk in frame["customer_id"]}
        ).values_list("pk", "name", "do_not_contact")
    }
    keys = {
        sources.of_vehicle_service(row.vehicle_id, row.due_day).key for row in frame.itertuples()
    }
    reminders = dict(
        FollowUpTask.objects.filter(
            kind=FollowUpTask.Kind.MAINTENANCE_REMINDER, vehicle_id__in=vehicle_ids
        )
        .filter(source_key__in=keys)
        .values_list("source_key", "status")
    )
    rows = []
    for row in frame.itertuples():
        vehicle = vehicles.get(row.vehicle_id)
        name, do_not_contact = customers.get(row.customer_id, ("", False))
        reminder = reminders.get(sources.of_vehicle_service(row.vehicle_id, row.due_day).key)
        rows.append(
            {
                "vehicle_id": int(row.vehicle_id),
                "vehicle": (vehicle.plate or vehicle.vin) if vehicle else "",
                "model": f"{vehicle.brand} {vehicle.model}".strip() if vehicle else "",
                "customer_id": int(row.customer_id),
                "customer": name,
                "do_not_contact": do_not_contact,
                "last_day": row.last_day,
                "visit_count": int(row.visit_count),
                "odometer_km": None if pd.isna(row.odometer_km) else int(row.odometer_km),
                "avg_daily_km": None
                if pd.isna(row.avg_daily_km)
                else round(float(row.avg_daily_km), 1),
                "due_day": row.due_day,
                "days_to_due": (row.due_day - as_of).days,
                "overdue_days": max(0, (as_of - row.due_day).days),
                "reminder": str(FollowUpTask.Status(reminder).label) if reminder else "",
            }
        )
    return rows


def reminders_behind(period: metrics.Period, step: str) -> QuerySet:
    """The maintenance reminders of the period at one step of the funnel (reminded, booked,
    arrived, delivered: metrics.reminder_step, the condition the count uses), each with the
    first appointment booked after it, the newest reminder first."""
    first = (
        metrics._booked_after_reminder().order_by("created_at", "pk")
        if step in ("reminded", "booked")
        else metrics._booked_after_reminder()
        .filter(status=Appointment.Status.ARRIVED)
        .order_by("created_at", "pk")
    )
    return (
        metrics.reminders(period)
        .filter(metrics.reminder_step(step))
        .select_related("customer", "vehicle")
        .annotate(
            booked_for=Subquery(first.values("scheduled_at")[:1]),
            booked_status=Subquery(first.values("status")[:1]),
        )
        .order_by("-created_at", "-pk")
    )


def _when(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def reminder_row(task) -> list:
    when = _when
    vehicle = task.vehicle
    return [
        when(task.created_at),
        (vehicle.plate or vehicle.vin) if vehicle else "",
        task.customer.name,
        task.get_status_display(),
        when(task.booked_for),
        str(Appointment.Status(task.booked_status).label) if task.booked_status else "",
    ]


def lost_calls(period: metrics.Period, reason: str | None = None) -> QuerySet:
    """The calls behind a bar of the "why customers leave" Pareto (metrics.lost_calls_of,
    the rows the count counts), the newest first."""
    return (
        metrics.lost_calls_of(period, reason)
        .select_related("customer")
        .order_by("-completed_at", "-pk")
    )


def with_advisor_names(tasks) -> list:
    """``tasks`` (lost_calls) with ``left_advisor_name`` set: the advisor the customer left,
    by the one name helper (shopcrm.people); one query for all of them."""
    tasks = list(tasks)
    users = get_user_model().objects.in_bulk({t.left_advisor for t in tasks if t.left_advisor})
    for task in tasks:
        task.left_advisor_name = person_name(users.get(task.left_advisor))
    return tasks


def lost_call_row(task) -> list:
    return [
        _when(task.completed_at),
        task.customer.name,
        task.get_kind_display(),
        task.get_outcome_display(),
        task.get_lost_reason_display(),
        task.lost_note,
        task.left_advisor_name,
    ]
