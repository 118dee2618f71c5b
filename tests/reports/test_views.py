"""The dashboard and its drill-downs through the test client: filters and their errors,
tiles and links, exports of every table, win-back calls for a selection (once each)."""

import csv
import io
from datetime import timedelta

import pytest
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


def test_only_supervisors_create_win_backs(client, history):
    lapsed, _active = history
    viewer = UserFactory(username="report-reader")
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_reports"))
    client.force_login(viewer)
    client.post(reverse("reports:customers"), {"customer": [lapsed[0].pk]})
    assert not FollowUpTask.objects.exists()


@pytest.mark.parametrize(
    "table", ["summary", "months", "advisors", "categories", "drivers", "bands", "tiers"]
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
