"""The manager's dashboard: the figures of reports.metrics plus the breakdowns the charts
show (by month, by advisor, key drivers, value tiers), each a SQL aggregate or a pandas step
on an aggregated frame."""

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from followups import states
from followups.models import FollowUpPolicy
from shopcalendar.rules import end_of, start_of
from shopcrm.people import person_name
from surveys.models import Dimension, SurveyResponse
from surveys.scoring import nps_of
from visits.models import Visit

from . import daily, metrics

TIERS = [("vip", 0.2), ("core", 0.3), ("regular", 0.3), ("low", 0.2)]


def presets(today: date) -> dict[str, tuple[date, date]]:
    first = today.replace(day=1)
    last_month_end = first - timedelta(days=1)
    return {
        "this_month": (first, today),
        "last_month": (last_month_end.replace(day=1), last_month_end),
        "last_12_months": (_add_months(first, -11), today),
    }


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, 1)


def by_month(period: metrics.Period) -> list[dict]:
    """CSI and NPS per month of delivery (months with responses)."""
    frame = daily.grouped(period, "month")
    return [
        {
            "month": row.month.strftime("%Y-%m"),
            "csi": metrics.rate(row.csi_sum, row.csi_count),
            "nps": nps_of(row.promoters, row.detractors, row.nps_answered),
            "responses": int(row.responses),
        }
        for row in frame[frame["responses"] > 0].itertuples()
    ]


def advisors_ranked(period: metrics.Period) -> list[dict]:
    """Advisors by the CSI of their visits' responses, best first (ties by user name)."""
    frame = daily.grouped(period, "advisor_id")
    frame = frame[frame["advisor_id"].notna() & (frame["csi_count"] > 0)]
    users = get_user_model().objects.in_bulk([int(pk) for pk in frame["advisor_id"]])
    rows = [
        {
            "advisor_id": user.pk,
            "username": user.username,
            "name": person_name(user),
            "csi": row.csi_sum / row.csi_count,
            "responses": int(row.responses),
        }
        for row in frame.itertuples()
        if (user := users.get(int(row.advisor_id)))
    ]
    return sorted(rows, key=lambda row: (-row["csi"], row["username"]))


def advisors_delivery(period: metrics.Period) -> list[dict]:
    """Per advisor with visits delivered in the period (by name): the promise and delivery
    checklist figures (METRICS.md, "Keeping the customer informed"), from the daily table's
    sums, so they add up to the summary's."""
    frame = daily.grouped(period, "advisor_id")
    frame = frame[frame["advisor_id"].notna() & (frame["visits"] > 0)]
    users = get_user_model().objects.in_bulk([int(pk) for pk in frame["advisor_id"]])
    rows = [
        {
            "advisor_id": user.pk,
            "name": person_name(user),
            "visits": int(row.visits),
            "on_time_delivery_rate": metrics.rate(row.on_time, row.promised),
            "on_time_revised_rate": metrics.rate(row.on_time_revised, row.promised),
            "promise_revision_rate": metrics.rate(row.revised, row.promised),
            "delivery_checklist_rate": metrics.rate(row.checklist_complete, row.visits),
        }
        for row in frame.itertuples()
        if (user := users.get(int(row.advisor_id)))
    ]
    return sorted(rows, key=lambda row: (row["name"], row["advisor_id"]))


def advisors_repair(period: metrics.Period) -> list[dict]:
    """Per advisor (by name): the extra work's approval and turnaround, the estimate's
    accuracy, the progress messages and the recommendations that came back
    (reports.metrics.repair_figures_by_advisor)."""
    figures = metrics.repair_figures_by_advisor(period)
    users = get_user_model().objects.in_bulk(list(figures))
    rows = [
        {"advisor_id": pk, "name": person_name(users[pk]), **row}
        for pk, row in figures.items()
        if pk in users
    ]
    return sorted(rows, key=lambda row: (row["name"], row["advisor_id"]))


def key_drivers(period: metrics.Period, totals: dict | None = None) -> list[dict]:
    """Per SERVQUAL dimension: its mean points (the summary's ``csi_dimensions``) and its
    Pearson correlation with the NPS answer, over the period's responses that have both
    (none below 3 pairs, or when either side is constant). ``totals``: the daily table's
    sums for the period (reports.daily.totals), passed in when the caller has them."""
    totals = totals or daily.totals(period)
    means = metrics.survey_figures(period, totals)["csi_dimensions"]
    table = []
    for name, label in Dimension.choices:
        sums = (totals[f"{name}_pairs{part}"] for part in PAIR_SUMS)
        table.append(
            {
                "dimension": name,
                "label": str(label),
                "mean": means[name],
                "correlation": pearson(*sums),
            }
        )
    # The weakest dimension that matters most to NPS comes first: fix it first.
    return sorted(
        table,
        key=lambda row: (
            -(row["correlation"] or 0) * (100 - (row["mean"] or 100)),
            row["dimension"],
        ),
    )


# The daily table's key-driver columns ({dimension}_pairs…), in pearson()'s order: n, Σx,
# Σy, Σx², Σy², Σxy (x the NPS answer, y the dimension's points).
PAIR_SUMS = ("", "_nps", "_points", "_nps_squares", "_points_squares", "_products")


def pearson(n, sx, sy, sxx, syy, sxy) -> float | None:
    """Pearson's r from sums; None below 3 pairs or when a side does not vary (a variance
    term within rounding of zero)."""
    if not n or n < 3:
        return None
    var_x, var_y = n * sxx - sx * sx, n * syy - sy * sy
    if var_x <= 1e-9 * n * sxx or var_y <= 1e-9 * n * syy:
        return None
    return max(-1.0, min(1.0, (n * sxy - sx * sy) / math.sqrt(var_x * var_y)))


def value_tiers(as_of: date) -> dict:
    """RFM over the 24 months before ``as_of``: recency, frequency and monetary value scored
    in quintiles (1–5), summed; the top 20 % by score are VIP, the next 30 % core, the next
    30 % regular, the last 20 % low."""
    since = start_of(_add_months(as_of.replace(day=1), -24))
    per_customer = (
        Visit.objects.filter(
            status=Visit.Status.DELIVERED,
            delivered_at__gte=since,
            delivered_at__lt=end_of(as_of),
        )
        .values("customer_id")
        .annotate(
            last_day=Max(TruncDate("delivered_at", tzinfo=timezone.get_default_timezone())),
            visits=Count("pk"),
            spent=Sum("total_amount"),
        )
        .order_by("customer_id")  # a stable order: ties in a score are broken by it
        .values_list("customer_id", "last_day", "visits", "spent")
    )
    # The aggregate's SQL on a plain cursor: a large shop has ~200,000 rows here, and
    # converting each value through the model fields costs more than the query.
    sql, params = per_customer.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    frame = pd.DataFrame(rows, columns=["customer_id", "last_day", "visits", "spent"])
    if frame.empty:
        return {"tiers": [{"tier": tier, "customers": 0} for tier, _ in TIERS], "frame": frame}
    frame["spent"] = frame["spent"].astype("float64").fillna(0)
    # Recency in whole calendar days since the last visit, as churn counts them.
    frame["recency_days"] = (pd.Timestamp(as_of) - pd.to_datetime(frame["last_day"])).dt.days

    def quintile(series, ascending=True):
        ranks = series.rank(method="first", ascending=ascending)
        return pd.qcut(ranks, 5, labels=[1, 2, 3, 4, 5]).astype(int)

    if len(frame) >= 5:
        frame["score"] = (
            quintile(frame["recency_days"], ascending=False)
            + quintile(frame["visits"])
            + quintile(frame["spent"])
        )
    else:
        frame["score"] = 3
    # Position in the ranking by score (0 = best), then the tier its share falls in.
    position = (frame["score"].rank(method="first", ascending=False) - 1) / len(frame)
    edges = np.cumsum([share for _tier, share in TIERS])[:-1]  # 0.2, 0.5, 0.8
    names = np.array([tier for tier, _share in TIERS])
    frame["tier"] = names[np.searchsorted(edges, position.to_numpy(), side="right")]
    counts = frame["tier"].value_counts()
    return {
        "tiers": [{"tier": tier, "customers": int(counts.get(tier, 0))} for tier, _ in TIERS],
        "frame": frame,
    }


def _versioned(name: str, as_of: date, compute):
    """``compute()``'s result for ``as_of``, cached under the state tables' version and the
    churn days, for the figures that depend on nothing else: a cached figure is never one the
    data has moved."""
    states.refresh()  # first: it may move the version
    days = FollowUpPolicy.current().churn_days
    key = f"reports:{name}:{as_of.isoformat()}:{days}:{states.version()}"
    figures = cache.get(key)
    if figures is None:
        figures = compute()
        cache.set(key, figures, 24 * 3600)
    return figures


def churn_of(as_of: date) -> dict:
    """metrics.churn at ``as_of`` (cached: _versioned)."""
    return _versioned("churn", as_of, lambda: metrics.churn(as_of))


def segments_of(as_of: date) -> dict:
    """metrics.segments at ``as_of`` (cached: _versioned)."""
    return _versioned("segments", as_of, lambda: metrics.segments(as_of))


def value_tier_counts(as_of: date) -> list[dict]:
    """value_tiers(as_of)["tiers"] (cached: _versioned). The tiers are fixed shares of the
    customers ranked, so their counts depend only on which customers have a visit delivered
    in the 24 months — what the states' version follows (delivered visits' status, time and
    customer) — not on the amounts, which it does not follow."""
    return _versioned("tiers", as_of, lambda: value_tiers(as_of)["tiers"])


def churn_over_time(as_of: date, points: int = 6, latest: dict | None = None) -> list[dict]:
    """Churn and at-risk rates at the last ``points`` month ends (``as_of`` the last; its
    figures passed in when the caller has them). Past points are cached under the state
    tables' version and the churn days (churn_of), so a cached point is never one the data
    moved."""
    ends = []
    month_end = as_of
    for _ in range(points):
        ends.append(month_end)
        month_end = month_end.replace(day=1) - timedelta(days=1)
    series = []
    for day in reversed(ends):
        figures = latest if day == as_of and latest is not None else churn_of(day)
        series.append(
            {
                "as_of": day.isoformat(),
                **{k: figures[k] for k in ("churn_rate", "at_risk_rate", "base")},
            }
        )
    return series


def follow_up_funnel(period: metrics.Period, totals: dict | None = None) -> list[dict]:
    """Visits delivered, their three-day calls, dialled, reached: sums of the daily table
    (``totals``, passed in when the caller has them)."""
    totals = totals or daily.totals(period)
    return [
        {"step": "visits", "count": totals["visits"]},
        {"step": "tasks", "count": totals["followup_tasks"]},
        {"step": "dialled", "count": totals["followup_dialled"]},
        {"step": "reached", "count": totals["followup_reached"]},
    ]


def advisor_choices():
    return get_user_model().objects.filter(groups__name="advisor").order_by("username")


def responses_with_nps(period):  # for the key-driver drill-down
    return SurveyResponse.objects.filter(pk__in=metrics.responses_of(period).values("pk"))
