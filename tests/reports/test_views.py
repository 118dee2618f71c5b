"""The dashboard and its drill-downs through the test client: filters and their errors,
tiles and links, exports of every table, win-back calls for a selection (once each)."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from followups.models import FollowUpTask
from tests.factories import CustomerFactory, UserFactory, VisitFactory
from visits.models import Visit

pytestmark = pytest.mark.django_db


def delivered(days_ago, customer=None, **extra):
    moment = timezone.now() - timedelta(days=days_ago)
    fields = {
        "status": Visit.Status.DELIVERED,
        "checked_in_at": moment - timedelta(hours=3),
        "promised_at": moment - timedelta(hours=1),  # late
        "delivered_at": moment,
    }
    if customer is not None:
        fields["vehicle__owner"] = customer
    fields.update(extra)
    return VisitFactory(**fields)


@pytest.fixture
def history():
    lapsed = [CustomerFactory(name=f"老客户{n}") for n in range(3)]
    for customer in lapsed:
        delivered(500, customer)
    active = CustomerFactory(name="常客")
    delivered(10, active)
    return lapsed, active


def test_dashboard_tiles_link_to_their_rows(manager_client, history):
    body = manager_client.get(reverse("reports:dashboard")).content.decode()
    assert 'id="tile-csi"' in body and 'id="tile-churn"' in body
    assert 'id="dashboard-data"' in body and "vendor/echarts/echarts.min.js" in body
    assert f"{reverse('reports:visits')}?" in body and "late=1" in body
    late = manager_client.get(reverse("reports:visits"), {"preset": "last_12_months", "late": "1"})
    assert late.status_code == 200 and "常客" in late.content.decode()
    # Issue 17: the promise and checklist tiles open their rows; the advisors' table.
    for tile, flag in [
        ("on_time_revised", "late_revised=1"),
        ("promise_revision", "revised=1"),
        ("delivery_checklist", "checklist_incomplete=1"),
    ]:
        assert f'id="tile-{tile}"' in body and flag in body
    assert 'id="advisor-delivery"' in body
    incomplete = manager_client.get(
        reverse("reports:visits"), {"preset": "last_12_months", "checklist_incomplete": "1"}
    )
    assert incomplete.status_code == 200 and "常客" in incomplete.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"preset": "custom", "start": "2026-03-01", "end": "2026-02-01"},
        {"preset": "custom", "start": "2026-03-01"},
        {"preset": "custom", "start": "not-a-date", "end": "2026-02-01"},
        {"preset": "someday"},
    ],
)
def test_bad_periods_get_a_message(manager_client, query):
    response = manager_client.get(reverse("reports:dashboard"), query)
    assert response.status_code == 400
    assert 'id="tiles"' not in response.content.decode()


def test_at_risk_and_lapsed_lists_export_and_win_back_once(manager_client, history):
    lapsed, active = history
    page = manager_client.get(reverse("reports:customers"), {"state": "lapsed"}).content.decode()
    assert all(customer.name in page for customer in lapsed) and active.name not in page
    exported = manager_client.get(reverse("reports:customers_csv"), {"state": "lapsed"})
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(rows) == 4 and rows[0][0] == "客户"
    chosen = [lapsed[0].pk, lapsed[1].pk]
    url = f"{reverse('reports:customers')}?state=lapsed"
    manager_client.post(url, {"customer": chosen})
    manager_client.post(url, {"customer": chosen})  # again: nothing new
    tasks = FollowUpTask.objects.filter(kind=FollowUpTask.Kind.WIN_BACK)
    assert sorted(tasks.values_list("customer_id", flat=True)) == sorted(chosen)
    response = manager_client.post(url, {}, follow=True)
    assert "请先勾选客户" in response.content.decode()
    # Ids that are junk or name nobody are left out, not a 500.
    response = manager_client.post(url, {"customer": ["abc", "9999999", "-1"]}, follow=True)
    assert response.status_code == 200 and "请先勾选客户" in response.content.decode()


def test_only_supervisors_win_back_create_due(client, history):
    lapsed, _active = history
    viewer = UserFactory(username="report-reader")
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_reports"))
    client.force_login(viewer)
    client.post(reverse("reports:customers"), {"customer": [lapsed[0].pk]})
    assert not FollowUpTask.objects.exists()


@pytest.mark.parametrize(
    "table",
    [
        "summary",
        "months",
        "advisors",
        "advisor_delivery",
        "advisor_repair",
        "categories",
        "lost_reasons",
        "lost_by_advisor",
        "drivers",
        "bands",
        "tiers",
    ],
)
def test_every_table_exports(manager_client, history, table):
    csv_response = manager_client.get(reverse("reports:export_csv", args=[table]))
    assert csv_response.status_code == 200 and csv_response.content.startswith("\ufeff".encode())
    xlsx = manager_client.get(reverse("reports:export_xlsx", args=[table]))
    assert load_workbook(io.BytesIO(xlsx.content)).active.max_row >= 1


def test_unknown_table_and_band(manager_client):
    assert manager_client.get(reverse("reports:export_csv", args=["secrets"])).status_code == 404
    assert manager_client.get(reverse("reports:vehicles"), {"band": "9"}).status_code == 404


def test_vehicles_by_band(manager_client):
    vehicle_owner = CustomerFactory()
    visits = [delivered(400 - 60 * n, vehicle_owner) for n in range(4)]
    vehicle = visits[0].vehicle
    for visit in visits:
        visit.vehicle = vehicle
        visit.odometer_km = 40_000
        visit.save()
    vehicle.registration_date = timezone.localdate() - timedelta(days=800)
    vehicle.save()
    body = manager_client.get(reverse("reports:vehicles"), {"band": "1"}).content.decode()
    assert vehicle.plate in body  # 40,000 km in the 580 days to its last visit: 69 km/day


def serviced(days_ago, *, odometer_km=None, registered_days_ago=None, **extra):
    """A vehicle (new, with its own customer) last serviced ``days_ago`` days ago."""
    visit = delivered(days_ago, odometer_km=odometer_km, **extra)
    if registered_days_ago is not None:
        visit.vehicle.registration_date = timezone.localdate() - timedelta(days=registered_days_ago)
        visit.vehicle.save()
    return visit


@pytest.fixture
def due_fleet():
    """Vehicles at different points of their service interval (5,000 km or 180 days)."""
    return {
        # 180 days after a visit 170 days ago: due in 10 days.
        "soon": serviced(170).vehicle,
        # 100 km/day since registration 400 days before its last visit 20 days ago: the
        # 5,000 km come after 50 days, due in 30 days (sooner than 180).
        "by_km": serviced(20, odometer_km=40_000, registered_days_ago=420).vehicle,
        # Due 20 days ago, not yet lapsed: overdue.
        "overdue": serviced(200).vehicle,
        # Due in 120 days: outside a 30-day window.
        "later": serviced(60).vehicle,
        # 500 days ago: the customer has lapsed (365 days); the win-back list has them.
        "lapsed": serviced(500).vehicle,
        # Sold: no longer in service, never listed.
        "sold": serviced(175, vehicle__is_active=False).vehicle,
    }


def listed(manager_client, fleet, **query) -> list:
    response = manager_client.get(reverse("reports:service_due"), query)
    assert response.status_code == 200
    body = response.content.decode()
    return sorted(name for name, vehicle in fleet.items() if vehicle.plate in body)


def test_service_due_lists_upcoming_and_overdue_vehicles(manager_client, due_fleet):
    assert listed(manager_client, due_fleet) == ["by_km", "overdue", "soon"]
    assert listed(manager_client, due_fleet, show="upcoming") == ["by_km", "soon"]
    assert listed(manager_client, due_fleet, show="overdue") == ["overdue"]
    assert listed(manager_client, due_fleet, show="upcoming", within=10) == ["soon"]
    assert listed(manager_client, due_fleet, show="upcoming", within=120) == [
        "by_km",
        "later",
        "soon",
    ]
    # As of 25 days ago: the overdue vehicle was due in 5 days then, the soon one in 35;
    # the one first serviced 20 days ago had no visit yet.
    as_of = timezone.localdate() - timedelta(days=25)
    assert listed(manager_client, due_fleet, as_of=as_of, show="upcoming") == ["overdue"]
    assert listed(manager_client, due_fleet, as_of=as_of) == ["overdue"]
    body = manager_client.get(reverse("reports:service_due")).content.decode()
    today = timezone.localdate()
    assert (today + timedelta(days=30)).isoformat() in body  # the by-km due day
    assert "逾期 20 天" in body and "10 天后" in body


def test_service_due_shows_the_reminder_call_and_exports(manager_client, due_fleet):
    from followups import services as followup_services

    # The sweep calls from 7 days before the due day: only the overdue vehicle so far.
    followup_services.reminder_create_due()
    assert FollowUpTask.objects.filter(vehicle=due_fleet["overdue"]).exists()
    assert not FollowUpTask.objects.filter(vehicle=due_fleet["later"]).exists()
    page = manager_client.get(reverse("reports:service_due"), {"show": "overdue"})
    assert "待拨打" in page.content.decode()
    exported = manager_client.get(reverse("reports:service_due_csv"))
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == "车牌/VIN" and len(rows) == 4
    by_plate = {row[0]: row for row in rows[1:]}
    overdue = by_plate[due_fleet["overdue"].plate]
    assert overdue[8] == "-20" and overdue[9] == "待拨打"
    assert by_plate[due_fleet["by_km"].plate][6] == "100.0"
    xlsx = manager_client.get(reverse("reports:service_due_xlsx"), {"show": "upcoming"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 3


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"within": "0"}, "天数须在 1 到 365 之间"),
        ({"within": "999"}, "天数须在 1 到 365 之间"),
        ({"within": "ten"}, "请输入整数天数"),
        ({"as_of": "2026-02-30"}, "有效的日期"),
        ({"show": "everything"}, "有效的选项"),
    ],
)
def test_service_due_bad_filters_are_400_and_export_nothing(manager_client, query, message):
    for name in ("reports:service_due", "reports:service_due_csv", "reports:service_due_xlsx"):
        response = manager_client.get(reverse(name), query)
        assert response.status_code == 400
        assert response["Content-Type"].startswith("text/html")
        assert message in response.content.decode()


def test_service_due_needs_the_reports_permission(advisor_client):
    assert advisor_client.get(reverse("reports:service_due")).status_code == 403
    assert advisor_client.get(reverse("reports:service_due_csv")).status_code == 403


def test_dashboard_tile_counts_the_vehicles_due_in_30_days(manager_client, due_fleet):
    body = manager_client.get(reverse("reports:dashboard")).content.decode()
    at = body.index('id="tile-service_due"')
    link = body[body.rindex("<a ", 0, at) : at]
    assert f"{reverse('reports:service_due')}?as_of=" in link and "show=upcoming" in link
    assert '<div class="fs-4 text-body">2</div>' in body[at : at + 300]


def test_customer_page_shows_the_predicted_next_service(advisor_client, due_fleet):
    vehicle = due_fleet["by_km"]
    body = advisor_client.get(reverse("customers:detail", args=[vehicle.owner_id])).content
    due = (timezone.localdate() + timedelta(days=30)).isoformat()
    assert f"预计下次保养 {due}" in body.decode()
    overdue = due_fleet["overdue"]
    body = advisor_client.get(reverse("customers:detail", args=[overdue.owner_id])).content
    assert "text-danger" in body.decode().split("预计下次保养")[0][-80:]
    sold = due_fleet["sold"]
    body = advisor_client.get(reverse("customers:detail", args=[sold.owner_id])).content
    assert "预计下次保养" not in body.decode()


def _summary_export(client, fmt="csv", language=None):
    if language:
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    query = {"start": "2025-12-01", "end": "2026-11-20"}
    if fmt == "xlsx":
        book = load_workbook(
            io.BytesIO(client.get(reverse("reports:export_xlsx", args=["summary"]), query).content)
        )
        return [[cell.value for cell in row] for row in book.active.iter_rows()]
    answer = client.get(reverse("reports:export_csv", args=["summary"]), query)
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


@pytest.mark.postgres
def test_summary_export_speaks_the_users_language_and_shows_the_dashboards_figures(
    manager_client, shop
):
    """Issue 16: the summary export had the API's keys, raw floats and no response rate."""
    dashboard = manager_client.get(
        reverse("reports:dashboard"),
        {"preset": "custom", "start": "2025-12-01", "end": "2026-11-20"},
    )
    summary, tiles = dashboard.context["summary"], {t[1]: t[2] for t in dashboard.context["tiles"]}
    rows = _summary_export(manager_client)
    assert rows[0] == ["指标", "数值"]
    figures = dict(rows[1:])
    assert "visits" not in figures and "survey_response_rate" not in figures
    # The same figures as the tiles: rates as percentages with one decimal.
    assert figures["按时交车率"] == f"{tiles['按时交车率'] * 100:.1f}%"
    assert re.fullmatch(r"\d{1,3}\.\d%", figures["一次修复率"])
    assert figures["流失率"] == f"{tiles['流失率'] * 100:.1f}%"
    assert float(figures["CSI"]) == round(tiles["CSI"], 1)
    assert int(figures["30 天内预计保养（辆）"]) == tiles["30 天内预计保养（辆）"]
    # The response rate is filled, and it is the summary's (the API's) figure.
    assert summary["survey_response_rate"] is not None
    assert figures["问卷回收率"] == f"{summary['survey_response_rate'] * 100:.1f}%"
    assert figures["交车台次"] == str(summary["visits"])
    assert "CSI：可靠性" in figures
    # Issue 17's figures, as their tiles.
    for label in ("按修改后承诺交车率", "承诺修改率", "交车检查完整率"):
        assert figures[label] == f"{tiles[label] * 100:.1f}%"

    english = _summary_export(manager_client, "xlsx", language="en")
    assert english[0] == ["Figure", "Value"]
    values = dict(english[1:])
    assert values["On-time delivery"] == figures["按时交车率"]
    assert values["Survey response rate"] == figures["问卷回收率"]
    assert values["CSI: Reliability"] == float(figures["CSI：可靠性"])
    assert len(values) == len(figures)
