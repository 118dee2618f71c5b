"""The advisor scorecard (METRICS.md, "Advisor scorecard"): per advisor, over the visits
delivered in the period with that advisor, the figures that already have one definition
(reports.metrics, the daily table's sums) grouped by advisor — never computed again here —
plus each figure's denominator ("too few to judge" below MIN_OBSERVATIONS) and its target
(reports.models.ScorecardTarget).

- visits, CSI, NPS, on-time, fixed first visit, 72-hour contact, checklist, responses: the
  daily table's sums per advisor (reports.daily.grouped, as dashboard.advisors_delivery);
- estimate accuracy and extra-work approval: metrics.repair_figures_by_advisor;
- complaints per 100 visits: the complaints linked to those visits (metrics'
  _of_delivered_visits on complaints), counted per advisor, over the same visits."""

from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count

from complaints.models import Complaint
from shopcrm.people import person_name
from surveys.scoring import nps_of

from . import daily, metrics
from .models import SCORECARD_FIGURES, ScorecardTarget

MIN_OBSERVATIONS = 10
TREND_MONTHS = 6
KINDS = {key: kind for key, _label, kind in SCORECARD_FIGURES}
# The daily table's column that is each ratio's denominator (None: a count, always judged).
DENOMINATORS = {
    "csi": "csi_count",
    "nps": "nps_answered",
    "on_time_delivery_rate": "promised",
    "fixed_first_visit_rate": "repairs",
    "followup_contact_rate_72h": "visits",
    "complaint_rate_per_100_visits": "visits",
    "delivery_checklist_rate": "visits",
    "estimate_accuracy_rate": "estimates",
    "extra_work_approval_rate": "extra_work_answered",
}

DAILY_DENOMINATORS = ("csi_count", "nps_answered", "promised", "repairs", "visits")


def figures_by_advisor(period: metrics.Period) -> dict[int, dict]:
    """{advisor id: {"figures": {key: value}, "observations": {key: denominator}}} for each
    advisor with a visit delivered in the period (``period.advisor``: that one only)."""
    frame = daily.grouped(period, "advisor_id")
    frame = frame[frame["advisor_id"].notna() & (frame["visits"] > 0)]
    repair = metrics.repair_figures_by_advisor(period)
    complaints = dict(
        metrics._of_delivered_visits(Complaint, period)
        .values_list("visit__advisor_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    cards = {}
    for row in frame.itertuples():
        advisor_id = int(row.advisor_id)
        visits = int(row.visits)
        repairs = repair.get(advisor_id, {})
        values = {
            "visits": visits,
            "csi": metrics.rate(row.csi_sum, row.csi_count),
            "nps": nps_of(row.promoters, row.detractors, row.nps_answered),
            "on_time_delivery_rate": metrics.rate(row.on_time, row.promised),
            "fixed_first_visit_rate": metrics.rate(row.repairs - row.came_back, row.repairs),
            "followup_contact_rate_72h": metrics.rate(row.contacted, row.visits),
            "complaint_rate_per_100_visits": 100 * complaints.get(advisor_id, 0) / visits,
            "estimate_accuracy_rate": repairs.get("estimate_accuracy_rate"),
            "extra_work_approval_rate": repairs.get("extra_work_approval_rate"),
            "delivery_checklist_rate": metrics.rate(row.checklist_complete, row.visits),
            "survey_responses": int(row.responses),
        }
        sums = {column: int(getattr(row, column)) for column in DAILY_DENOMINATORS}
        sums["estimates"] = repairs.get("estimates", 0)
        sums["extra_work_answered"] = repairs.get("extra_work_answered", 0)
        cards[advisor_id] = {
            "figures": values,
            "observations": {key: sums[column] for key, column in DENOMINATORS.items()},
        }
    return cards


def shown_value(key: str, value):
    """A figure in its targets' unit: rates as percentages, others as they are."""
    if value is None:
        return None
    return value * 100 if KINDS[key] == "rate" else value


def judge(key: str, value, observations: int | None, targets: dict) -> dict:
    """One cell: its value, whether there are too few observations to judge it, its target
    and the verdict ("met", "missed", or "" when there is no target, no value or too few)."""
    target = targets.get(key)
    too_few = observations is not None and observations < MIN_OBSERVATIONS
    verdict = ""
    if target is not None and value is not None and not too_few:
        verdict = "met" if target.met_by(Decimal(str(shown_value(key, value)))) else "missed"
    return {
        "key": key,
        "value": value,
        "observations": observations,
        "too_few": too_few,
        "target": target,
        "verdict": verdict,
    }


def targets() -> dict[str, ScorecardTarget]:
    return {target.figure: target for target in ScorecardTarget.objects.all()}


def scorecards(period: metrics.Period, *, trends: bool = False) -> list[dict]:
    """One card per advisor with a visit delivered in the period, by name: the advisor, and
    per figure a judged cell (``judge``); with ``trends``, each cell's monthly values over
    the last TREND_MONTHS months up to the period's end."""
    by_advisor = figures_by_advisor(period)
    users = get_user_model().objects.in_bulk(list(by_advisor))
    goals = targets()
    series = monthly(period, list(by_advisor)) if trends else {}
    cards = []
    for advisor_id, card in by_advisor.items():
        user = users.get(advisor_id)
        if user is None:
            continue
        cells = []
        for key, _label, _kind in SCORECARD_FIGURES:
            cell = judge(key, card["figures"][key], card["observations"].get(key), goals)
            cell["trend"] = series.get(advisor_id, {}).get(key, [])
            cells.append(cell)
        cards.append(
            {"advisor": user, "advisor_id": advisor_id, "name": person_name(user), "cells": cells}
        )
    return sorted(cards, key=lambda card: (card["name"], card["advisor_id"]))


def months_before(end: date, months: int) -> list[tuple[date, date]]:
    """The last ``months`` calendar months up to ``end``'s month (the last one ending at
    ``end``), oldest first."""
    spans = []
    last = end
    for _ in range(months):
        first = last.replace(day=1)
        spans.append((first, last))
        last = first - timedelta(days=1)
    return list(reversed(spans))


def monthly(period: metrics.Period, advisor_ids: list[int]) -> dict[int, dict[str, list]]:
    """{advisor: {figure: [value per month]}} over the last TREND_MONTHS months."""
    series: dict[int, dict[str, list]] = {
        pk: {key: [] for key, _l, _k in SCORECARD_FIGURES} for pk in advisor_ids
    }
    for first, last in months_before(period.end, TREND_MONTHS):
        month = figures_by_advisor(
            metrics.Period(
                start=first, end=last, advisor=period.advisor, service_type=period.service_type
            )
        )
        for pk in advisor_ids:
            values = month.get(pk, {}).get("figures", {})
            for key, _l, _k in SCORECARD_FIGURES:
                series[pk][key].append(values.get(key))
    return series
