"""The manager's morning in a real browser: open the dashboard, change the period, click a
complaint category in the Pareto chart, land on those complaints, export them."""

from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from django.utils import timezone

from complaints import services as complaint_services
from tests.factories import CustomerFactory, UserFactory
from tests.surveys.conftest import make_delivered_visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_reads_the_dashboard(page, live_server, screenshot_dir):
    advisor = UserFactory(role="advisor", username="wangwu", last_name="王", first_name="五")
    UserFactory(role="manager", username="manager-d", last_name="赵", first_name="经理")
    for n in range(3):
        visit = make_delivered_visit(hours_ago=30 + n)
        visit.advisor = advisor
        visit.save()
    for category, count in [("long_wait", 3), ("attitude", 1)]:
        for _ in range(count):
            complaint_services.complaint_create(
                customer=CustomerFactory(),
                by=advisor,
                category=category,
                severity="medium",
                channel="phone",
                description="测试投诉",
            )

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "manager-d")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"{live_server.url}/reports/")
    page.wait_for_selector("html[data-charts]", state="attached")
    assert page.evaluate("window.SHOPCRM_CHARTS") >= 9
    assert "投诉率" in page.inner_text("#tiles")

    # Change the period: a custom one covering the last week.
    today = timezone.localdate()
    page.fill("#id_start", (today - timedelta(days=7)).isoformat())
    page.fill("#id_end", today.isoformat())
    page.dispatch_event("#id_end", "change")
    page.click("#apply-period")
    page.wait_for_url(lambda url: "preset=custom" in url)
    page.wait_for_load_state()
    page.wait_for_selector("html[data-charts]", state="attached")
    assert page.evaluate("window.SHOPCRM_CHARTS") >= 9
    assert "preset=custom" in page.url
    assert page.input_value("#id_preset") == "custom"
    page.screenshot(path=str(screenshot_dir / "dashboard.png"), full_page=True)

    # The value pyramid is a pyramid (issue 16): VIP on top, each tier below it wider.
    widths = page.evaluate(
        """() => {
          const data = window.SHOPCRM_CHARTS_BY_ID['chart-tiers'].getModel()
            .getSeriesByIndex(0).getData();
          const rows = [];
          for (let i = 0; i < data.count(); i++) {
            const points = data.getItemLayout(i).points;
            const xs = points.map(p => p[0]), ys = points.map(p => p[1]);
            rows.push([Math.min(...ys), Math.max(...xs) - Math.min(...xs), data.getName(i)]);
          }
          return rows.sort((a, b) => a[0] - b[0]).map(r => [r[1], r[2]]);
        }"""
    )
    assert widths[0][1] == "VIP"
    assert all(upper[0] < lower[0] for upper, lower in pairwise(widths)), widths

    # Click the tallest bar of the Pareto chart (long waits, 3 complaints), scrolled into
    # view first (the tiles and the reminder funnel of issue 18 pushed it below the fold).
    page.locator("#chart-categories").scroll_into_view_if_needed()
    point = page.evaluate(
        """() => {
          const chart = window.SHOPCRM_CHARTS_BY_ID['chart-categories'];
          const [x, y] = chart.convertToPixel({seriesIndex: 0}, [0, 1.5]);
          const box = chart.getDom().getBoundingClientRect();
          return [box.left + x, box.top + y];
        }"""
    )
    page.mouse.click(point[0], point[1])
    page.wait_for_url(lambda url: "/complaints/" in url and "category=long_wait" in url)
    rows = page.locator("#complaints tbody tr")
    assert rows.count() == 3
    assert all("等待时间过长" in rows.nth(i).inner_text() for i in range(3))

    with page.expect_download() as download:
        page.click("#export-csv")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.count("等待时间过长") == 3 and "服务态度差" not in text


def test_manager_finds_the_vehicles_due_for_service(page, live_server):
    from tests.factories import VisitFactory
    from visits.models import Visit

    UserFactory(role="manager", username="manager-s")
    now = timezone.now()
    for days_ago, plate in [(170, "粤B12345"), (175, "粤B23456"), (200, "粤B34567")]:
        moment = now - timedelta(days=days_ago)
        VisitFactory(
            vehicle__plate=plate,
            status=Visit.Status.DELIVERED,
            checked_in_at=moment - timedelta(hours=2),
            delivered_at=moment,
        )

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "manager-s")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.goto(f"{live_server.url}/reports/")
    tile = page.locator("#tile-service_due")
    assert tile.locator(".fs-4").inner_text() == "2"  # due in 10 and 5 days
    tile.click()
    page.wait_for_url(lambda url: "/reports/service-due/" in url)
    table = page.inner_text("#report-service-due")
    assert "粤B12345" in table and "粤B23456" in table and "粤B34567" not in table
    assert "5 天后" in table and "10 天后" in table

    page.select_option("#id_show", "overdue")
    page.click("#service-due-form button")
    page.wait_for_url(lambda url: "show=overdue" in url)
    assert "逾期 20 天" in page.inner_text("#report-service-due")
    page.fill("#id_within", "0")
    page.click("#service-due-form button")
    assert "天数须在 1 到 365 之间" in page.inner_text("#service-due-form")
    page.fill("#id_within", "30")
    page.click("#service-due-form button")
    page.wait_for_url(lambda url: "within=30" in url)
    with page.expect_download() as download:
        page.click("#export-service-due")
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "粤B34567" in text and "粤B12345" not in text
