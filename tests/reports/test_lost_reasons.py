"""Why customers leave (issue 19): the Pareto of the coded reasons of a period against an
independent pandas computation, by advisor (the advisor of the customer's last delivered
visit before the call), the dashboard's table, its drill-down to the calls and exports."""

import io
import random
from datetime import date, datetime, time, timedelta

import pandas as pd
import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from followups.models import FollowUpTask
from reports import metrics
from tests.factories import UserFactory, VehicleFactory
from visits.models import Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
TZ = timezone.get_default_timezone()
TODAY = date(2026, 11, 20)
NOW = timezone.make_aware(datetime.combine(TODAY, time(12)), TZ)
K, OUT, R = FollowUpTask.Kind, FollowUpTask.Outcome, FollowUpTask.LostReason


def moment(day: date, hour: float) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), TZ) + timedelta(hours=hour)


@pytest.fixture
def calls(monkeypatch):
    """Customers with visits by three advisors and a year of calls, some with reasons."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    rng = random.Random(19)
    advisors = [UserFactory(role="advisor", username=f"lost{n}") for n in range(3)]
    vehicles = [VehicleFactory() for _ in range(30)]
    customers = [vehicle.owner for vehicle in vehicles]
    visits = []
    for n in range(90):
        delivered = moment(TODAY - timedelta(days=rng.randint(0, 500)), rng.uniform(9, 17))
        vehicle = rng.choice(vehicles)
        visits.append(
            Visit(
                ro_number=f"LR{n:05d}",
                vehicle=vehicle,
                customer=vehicle.owner,
                advisor=rng.choice(advisors),
                service_type="maintenance",
                status=Visit.Status.DELIVERED if rng.random() < 0.9 else Visit.Status.CANCELLED,
                checked_in_at=delivered - timedelta(hours=3),
                delivered_at=delivered,
            )
        )
    Visit.objects.bulk_create(visits)
    tasks = []
    for n in range(160):
        created = moment(TODAY - timedelta(days=rng.randint(0, 400)), rng.uniform(9, 17))
        completed = created + timedelta(hours=rng.uniform(0, 60))
        outcome = rng.choice([OUT.LOST, OUT.LOST, OUT.REACHED_SATISFIED, OUT.NO_ANSWER])
        reason = ""
        if outcome == OUT.LOST or (outcome == OUT.REACHED_SATISFIED and rng.random() < 0.5):
            reason = rng.choices(R.values, [9, 8, 5, 3, 6, 2, 2, 1])[0]
        tasks.append(
            FollowUpTask(
                kind=rng.choice([K.WIN_BACK, K.MAINTENANCE_REMINDER]),
                source_key=f"test:{n}",
                customer=rng.choice(customers),
                due_at=created,
                next_attempt_at=created,
                status=FollowUpTask.Status.DONE,
                outcome=outcome,
                lost_reason=reason,
                lost_note="搬去外地" if reason == R.OTHER else "",
                completed_at=completed,
                attempts=1,
            )
        )
    FollowUpTask.objects.bulk_create(tasks)
    # created_at is auto_now_add: set it as the call's own moment.
    for task in tasks:
        FollowUpTask.objects.filter(pk=task.pk).update(created_at=task.due_at)
    return advisors


def expected(start: date, end: date, advisor=None) -> pd.DataFrame:
    """count per reason from the rows themselves: local completion day in the period; the
    advisor of the latest delivered visit of the customer strictly before the call."""
    tasks = pd.DataFrame(
        FollowUpTask.objects.values(
            "id", "customer_id", "created_at", "completed_at", "lost_reason"
        )
    )
    visits = pd.DataFrame(
        Visit.objects.filter(status="delivered").values(
            "id", "customer_id", "delivered_at", "advisor_id"
        )
    )
    tasks = tasks[tasks.lost_reason != ""]
    days = tasks.completed_at.map(lambda t: timezone.localtime(t, TZ).date())
    tasks = tasks[(days >= start) & (days <= end)].copy()

    def left(row):
        before = visits[
            (visits.customer_id == row.customer_id) & (visits.delivered_at < row.created_at)
        ].sort_values(["delivered_at", "id"])
        return None if before.empty else before.iloc[-1].advisor_id

    tasks["advisor"] = [left(row) for row in tasks.itertuples()]
    if advisor is not None:
        tasks = tasks[tasks.advisor == advisor]
    return tasks


def check_pareto(rows: list[dict], tasks: pd.DataFrame):
    counts = tasks.lost_reason.value_counts()
    assert {row["reason"]: row["count"] for row in rows} == counts.to_dict()
    assert [row["count"] for row in rows] == sorted(counts.tolist(), reverse=True)
    # Ties by code.
    assert rows == sorted(rows, key=lambda row: (-row["count"], row["reason"]))
    running = 0
    for row in rows:
        running += row["count"]
        assert row["share"] == pytest.approx(row["count"] / len(tasks))
        assert row["cumulative_share"] == pytest.approx(running / len(tasks))
    if rows:
        assert rows[-1]["cumulative_share"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("start", "end"), [(date(2025, 11, 21), TODAY), (date(2026, 6, 1), date(2026, 8, 31))]
)
def test_the_pareto_matches_an_independent_count(calls, start, end):
    tasks = expected(start, end)
    assert len(tasks) > 10
    check_pareto(metrics.lost_reasons(metrics.Period(start=start, end=end)), tasks)


def test_the_pareto_by_advisor(calls):
    start, end = date(2025, 11, 21), TODAY
    everyone = expected(start, end)
    for advisor in calls:
        tasks = expected(start, end, advisor.pk)
        assert len(tasks) > 0
        period = metrics.Period(start=start, end=end, advisor=advisor.pk)
        check_pareto(metrics.lost_reasons(period), tasks)
    table = metrics.lost_reasons_by_advisor(metrics.Period(start=start, end=end))
    assert sum(row["total"] for row in table) == len(everyone)
    for row in table:
        mine = (
            everyone[everyone.advisor.isna()]
            if row["advisor"] is None
            else everyone[everyone.advisor == row["advisor"]]
        )
        assert row["reasons"] == mine.lost_reason.value_counts().to_dict()
        assert row["total"] == len(mine)
    assert [row["total"] for row in table] == sorted((row["total"] for row in table), reverse=True)


def test_an_empty_period_has_no_rows(calls):
    assert metrics.lost_reasons(metrics.Period(start=date(2020, 1, 1), end=date(2020, 1, 31))) == []


def test_the_dashboard_shows_the_pareto_and_its_calls(manager_client, calls):
    query = {"preset": "custom", "start": "2025-11-21", "end": TODAY.isoformat()}
    body = manager_client.get(reverse("reports:dashboard"), query).content.decode()
    assert 'id="lost-reason-table"' in body and "客户流失原因（帕累托）" in body
    # Each advisor the customers left, linked to their calls.
    assert 'id="lost-by-advisor"' in body
    for advisor in calls:
        assert f"advisor={advisor.pk}" in body
    top = metrics.lost_reasons(metrics.Period(start=date(2025, 11, 21), end=TODAY))[0]
    assert str(R(top["reason"]).label) in body
    calls_page = manager_client.get(
        reverse("reports:lost_calls"), {**query, "reason": top["reason"]}
    )
    assert calls_page.status_code == 200
    assert calls_page.content.decode().count('<tr><td><a href="/calls/') == top["count"]
    csv = manager_client.get(reverse("reports:lost_calls_csv"), {**query, "reason": top["reason"]})
    assert len(csv.content.decode("utf-8-sig").strip().splitlines()) == top["count"] + 1
    # By advisor: the first advisor's own Pareto, and the export per advisor.
    advisor = calls[0]
    mine = manager_client.get(reverse("reports:lost_calls"), {**query, "advisor": advisor.pk})
    rows = expected(date(2025, 11, 21), TODAY, advisor.pk)
    assert mine.content.decode().count('<tr><td><a href="/calls/') == len(rows)
    xlsx = manager_client.get(reverse("reports:export_xlsx", args=["lost_by_advisor"]), query)
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert (
        sheet.max_row
        == len(metrics.lost_reasons_by_advisor(metrics.Period(start=date(2025, 11, 21), end=TODAY)))
        + 1
    )


@pytest.mark.parametrize("reason", ["cheap", "<script>", "price'--"])
def test_an_unknown_reason_is_a_clear_error(manager_client, reason):
    response = manager_client.get(reverse("reports:lost_calls"), {"reason": reason})
    assert response.status_code == 400 and "未知的流失原因" in response.content.decode()


def test_a_bad_period_is_a_clear_error(manager_client):
    response = manager_client.get(
        reverse("reports:lost_calls"), {"preset": "custom", "start": "2026-13-01", "end": "x"}
    )
    assert response.status_code == 400


def test_the_api_gives_the_same_figures(calls, reader):
    start, end = date(2025, 11, 21), TODAY
    answer = reader.get("/api/v1/reports/lost-reasons/", {"start": start, "end": end})
    assert answer.status_code == 200
    body = answer.json()
    check_pareto(body["reasons"], expected(start, end))
    usernames = {advisor.username for advisor in calls}
    assert {row["advisor"] for row in body["by_advisor"]} - {None} <= usernames
    mine = reader.get(
        "/api/v1/reports/lost-reasons/",
        {"start": start, "end": end, "advisor": calls[1].username},
    ).json()
    check_pareto(mine["reasons"], expected(start, end, calls[1].pk))


@pytest.mark.parametrize(
    "query",
    [{}, {"start": "2026-02-30", "end": "2026-03-01"}, {"start": "2026-01-01", "end": "x"}],
)
def test_the_api_refuses_a_bad_period(reader, query):
    answer = reader.get("/api/v1/reports/lost-reasons/", query)
    assert answer.status_code == 400 and answer.json()


def test_the_api_refuses_an_unknown_advisor(reader):
    answer = reader.get(
        "/api/v1/reports/lost-reasons/",
        {"start": "2026-01-01", "end": "2026-02-01", "advisor": "nobody"},
    )
    assert answer.status_code == 400 and "advisor" in answer.json()
