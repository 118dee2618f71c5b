"""Every reported figure, exactly as ../shared/METRICS.md defines it — one place, used by the
dashboard, the exports and the API alike.

Each family of figures is one aggregate query over its own table (visits, responses,
invitations, follow-up tasks, complaints), never several aggregates across joins that
would multiply rows; per-vehicle and per-customer frames are aggregated in SQL and finished
in pandas. Rates whose denominator is 0 are None."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from django.db import connection
from django.db.models import Avg, Count, Exists, F, FloatField, Max, OuterRef, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast
from django.utils import timezone

from complaints.models import Complaint
from followups.models import CallAttempt, FollowUpPolicy, FollowUpTask
from surveys.models import Dimension, SurveyInvitation, SurveyResponse
from surveys.scoring import nps_of
from visits.models import ServiceType, Visit

REACHED = list(FollowUpTask.REACHED)
REPAIRS = [ServiceType.REPAIR, ServiceType.WARRANTY]
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
        return start_of(self.end + timedelta(days=1))


def start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), timezone.get_default_timezone())


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


def summary(period: Period, *, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    result = {}
    result.update(_visit_figures(period))
    result.update(_survey_figures(period))
    result.update(_follow_up_figures(period))
    result.update(_complaint_figures(period, now, result["visits"]))
    return result


def _visit_figures(period: Period) -> dict:
    visits = delivered_visits(period)
    comeback = Visit.objects.filter(
        vehicle_id=OuterRef("vehicle_id"),
        service_type__in=REPAIRS,
        checked_in_at__gt=OuterRef("delivered_at"),
        checked_in_at__lte=OuterRef("delivered_at") + timedelta(days=30),
    )
    figures = visits.aggregate(
        visits=Count("pk"),
        promised=Count("pk", filter=Q(promised_at__isnull=False)),
        on_time=Count(
            "pk", filter=Q(promised_at__isnull=False, delivered_at__lte=F("promised_at"))
        ),
        by_appointment=Count("pk", filter=Q(by_appointment=True)),
    )
    # Exists as a filter, counted on its own: an annotated Exists inside an aggregate's
    # filter is not supported by the ORM.
    repairs = visits.filter(service_type__in=REPAIRS)
    fixed = {"repairs": repairs.count(), "came_back": repairs.filter(Exists(comeback)).count()}
    reached_in_72h = CallAttempt.objects.filter(
        task__visit_id=OuterRef("pk"),
        task__kind=FollowUpTask.Kind.POST_SERVICE,
        outcome__in=REACHED,
        ended_at__lte=OuterRef("delivered_at") + timedelta(hours=72),
    )
    contacted = visits.filter(Exists(reached_in_72h)).count()
    return {
        "visits": figures["visits"],
        "on_time_delivery_rate": rate(figures["on_time"], figures["promised"]),
        "fixed_first_visit_rate": rate(fixed["repairs"] - fixed["came_back"], fixed["repairs"]),
        "appointment_rate": rate(figures["by_appointment"], figures["visits"]),
        "followup_contact_rate_72h": rate(contacted, figures["visits"]),
    }


def _survey_figures(period: Period) -> dict:
    responses = responses_of(period)
    dimension_means = {
        name: Avg(Cast(KeyTextTransform(name, "dimension_scores"), FloatField()))
        for name in Dimension.values
    }
    figures = responses.aggregate(
        survey_responses=Count("pk"),
        csi=Avg("csi"),
        alerts=Count("pk", filter=Q(is_alert=True)),
        promoters=Count("pk", filter=Q(nps_class="promoter")),
        detractors=Count("pk", filter=Q(nps_class="detractor")),
        nps_answered=Count("pk", filter=~Q(nps_class="")),
        **{f"dim_{name}": expression for name, expression in dimension_means.items()},
    )
    invitations = (
        _of_delivered_visits(SurveyInvitation, period)
        .filter(sent_at__isnull=False)
        .aggregate(
            sent=Count("pk"),
            completed=Count("pk", filter=Q(status=SurveyInvitation.Status.COMPLETED)),
        )
    )
    return {
        "csi": figures["csi"],
        "csi_dimensions": {name: figures[f"dim_{name}"] for name in Dimension.values},
        "nps": nps_of(figures["promoters"], figures["detractors"], figures["nps_answered"]),
        "survey_responses": figures["survey_responses"],
        "survey_response_rate": rate(invitations["completed"], invitations["sent"]),
        "alerts": figures["alerts"],
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
    total = sum(row["count"] for row in rows)
    running = 0
    table = []
    for row in rows:
        running += row["count"]
        table.append(
            {
                "category": row["category"],
                "count": row["count"],
                "cumulative_share": running / total,
            }
        )
    return table


# ---------------------------------------------------------------- per-vehicle frames


VEHICLE_FRAME_SQL = """
SELECT t.vehicle_id, t.customer_id, t.delivered_at, t.odometer_km, t.visit_count,
       veh.registration_date
  FROM (SELECT v.vehicle_id, v.customer_id, v.delivered_at, v.odometer_km,
               ROW_NUMBER() OVER (PARTITION BY v.vehicle_id
                                  ORDER BY v.delivered_at DESC, v.id DESC) AS rn,
               COUNT(*) OVER (PARTITION BY v.vehicle_id) AS visit_count
          FROM visits_visit v
         WHERE v.status = 'delivered' AND v.delivered_at < %s) t
  JOIN customers_vehicle veh ON veh.id = t.vehicle_id
 WHERE t.rn = 1
"""


def _local_days(series: pd.Series) -> pd.Series:
    """Moments as the shop's calendar days (datetime64 at midnight: vectorised arithmetic)."""
    moments = pd.to_datetime(series, utc=True)
    local = moments.dt.tz_convert(str(timezone.get_default_timezone())).dt.tz_localize(None)
    return local.dt.normalize()


def vehicle_frame(as_of: date) -> pd.DataFrame:
    """One row per vehicle with a delivered visit on or before ``as_of``: its latest such
    visit (customer, date, odometer), its visit count and its registration date."""
    with connection.cursor() as cursor:
        cursor.execute(VEHICLE_FRAME_SQL, [start_of(as_of + timedelta(days=1))])
        rows = cursor.fetchall()
    frame = pd.DataFrame(
        rows,
        columns=[
            "vehicle_id",
            "customer_id",
            "delivered_at",
            "odometer_km",
            "visit_count",
            "registration_date",
        ],
    )
    frame["last_day"] = _local_days(frame["delivered_at"])
    frame["registration_date"] = pd.to_datetime(frame["registration_date"])
    days = (frame["last_day"] - frame["registration_date"]).dt.days.astype("float64")
    odometer = frame["odometer_km"].astype("float64")
    frame["avg_daily_km"] = (odometer / days).where((days > 0) & odometer.notna())
    return frame


def predicted_next_service(frame: pd.DataFrame, policy: FollowUpPolicy) -> pd.Series:
    """METRICS.md (and followups.services.predicted_next_service, the same rule): the last
    visit date plus the interval in days, or sooner, the whole days needed to cover the
    interval in km at the vehicle's average daily mileage."""
    by_km = (policy.service_interval_km / frame["avg_daily_km"]).where(frame["avg_daily_km"] > 0)
    days = by_km.fillna(policy.service_interval_days).clip(upper=policy.service_interval_days)
    return frame["last_day"] + pd.to_timedelta(days.astype("int64"), unit="D")


# ---------------------------------------------------------------- churn and retention


def customer_last_visits(as_of: date) -> pd.DataFrame:
    rows = list(
        Visit.objects.filter(
            status=Visit.Status.DELIVERED, delivered_at__lt=start_of(as_of + timedelta(days=1))
        )
        .values("customer_id")
        .annotate(last=Max("delivered_at"))
        .values_list("customer_id", "last")
    )
    frame = pd.DataFrame(rows, columns=["customer_id", "last"])
    frame["last_day"] = _local_days(frame["last"])
    return frame


def churn_frame(as_of: date) -> pd.DataFrame:
    """Per base customer: last visit day, lapsed, at risk (METRICS.md)."""
    policy = FollowUpPolicy.current()
    customers = customer_last_visits(as_of)
    if customers.empty:
        return customers.assign(lapsed=[], at_risk=[], overdue_since=[])
    vehicles = vehicle_frame(as_of)
    vehicles["due"] = predicted_next_service(vehicles, policy)
    earliest_due = vehicles.groupby("customer_id")["due"].min()
    customers["due"] = customers["customer_id"].map(earliest_due)
    moment = pd.Timestamp(as_of)
    days_since = (moment - customers["last_day"]).dt.days
    customers["days_since"] = days_since
    customers["lapsed"] = days_since > policy.churn_days
    overdue = (moment - customers["due"]).dt.days > OVERDUE_GRACE_DAYS  # no due date: False
    customers["at_risk"] = ~customers["lapsed"] & ((days_since > AT_RISK_DAYS) | overdue)
    return customers


def churn(as_of: date) -> dict:
    customers = churn_frame(as_of)
    base = len(customers)
    lapsed = int(customers["lapsed"].sum()) if base else 0
    at_risk = int(customers["at_risk"].sum()) if base else 0
    return {
        "as_of": as_of.isoformat(),
        "base": base,
        "lapsed": lapsed,
        "at_risk": at_risk,
        "churn_rate": rate(lapsed, base),
        "at_risk_rate": rate(at_risk, base),
        "retention_13m": retention_13m(as_of),
    }


def retention_13m(as_of: date):
    """Customers with a visit delivered in the calendar month 13 months before ``as_of``'s
    month: the share with another visit delivered after their last visit of that month
    and on or before ``as_of``."""
    month = as_of.month - 13
    year = as_of.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    in_month = (
        Visit.objects.filter(
            status=Visit.Status.DELIVERED,
            delivered_at__gte=start_of(first),
            delivered_at__lt=start_of(following),
        )
        .values("customer_id")
        .annotate(last=Max("delivered_at"))
    )
    cohort = {row["customer_id"]: row["last"] for row in in_month}
    if not cohort:
        return None
    later = set(
        Visit.objects.filter(
            status=Visit.Status.DELIVERED,
            customer_id__in=cohort,
            delivered_at__gte=start_of(following),
            delivered_at__lt=start_of(as_of + timedelta(days=1)),
        )
        .values_list("customer_id", flat=True)
        .distinct()
    )
    return len(later) / len(cohort)


# ---------------------------------------------------------------- segments


def segment_frame(as_of: date) -> pd.DataFrame:
    frame = vehicle_frame(as_of)
    cutoff = _months_before(as_of, 3)
    old_enough = frame["registration_date"] <= pd.Timestamp(cutoff)  # none: False
    daily = frame["avg_daily_km"]
    frame["qualifies"] = (daily.between(5, 500) & old_enough & (frame["visit_count"] >= 4)).fillna(
        False
    )
    return frame


def segments(as_of: date) -> dict:
    frame = segment_frame(as_of)
    qualified = frame[frame["qualifies"]]
    daily = qualified["avg_daily_km"]
    counts = [
        int(((daily >= 5) & (daily < 50)).sum()),
        int(((daily >= 50) & (daily <= 150)).sum()),
        int(((daily > 150) & (daily <= 300)).sum()),
        int(((daily > 300) & (daily <= 500)).sum()),
    ]
    return {
        "as_of": as_of.isoformat(),
        "vehicles": len(frame),
        "qualified": len(qualified),
        "qualified_share": rate(len(qualified), len(frame)),
        "bands": [
            {"min_km": low, "max_km": high, "vehicles": n, "share": rate(n, len(qualified))}
            for (low, high), n in zip(BANDS, counts, strict=True)
        ],
    }


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
