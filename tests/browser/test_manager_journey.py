"""The manager acts on the numbers (issue 19) in a real browser: the advisors' scorecard →
a red cell → the visits behind it."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from reports.models import ScorecardTarget
from tests.factories import UserFactory, VisitFactory
from visits.models import Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _delivered(advisor, *, late: bool, days_ago: int):
    delivered = timezone.now() - timedelta(days=days_ago, hours=2)
    promised = delivered - timedelta(hours=2) if late else delivered + timedelta(minutes=30)
    return VisitFactory(
        advisor=advisor,
        status=Visit.Status.DELIVERED,
        checked_in_at=delivered - timedelta(hours=4),
        promised_at=promised,
        first_promised_at=promised,
        delivered_at=delivered,
    )


def _login(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def test_scorecard_red_cell_leads_to_the_late_visits(page, live_server, screenshot):
    # A transactional test starts without the data migration's rows: the one target used.
    ScorecardTarget.objects.update_or_create(
        figure="on_time_delivery_rate",
        defaults={"direction": "at_least", "value": Decimal("90")},
    )
    late_one = UserFactory(role="advisor", username="wangwu", last_name="王", first_name="五")
    punctual = UserFactory(role="advisor", username="lina", last_name="李", first_name="娜")
    UserFactory(role="manager", username="manager-j", last_name="赵", first_name="经理")
    late = {_delivered(late_one, late=True, days_ago=n + 1).ro_number for n in range(8)}
    for n in range(4):
        _delivered(late_one, late=False, days_ago=n + 1)
    for n in range(12):
        _delivered(punctual, late=False, days_ago=n + 1)

    _login(page, live_server, "manager-j")
    page.goto(f"{live_server.url}/reports/advisors/")
    table = page.locator("#advisor-scorecard")
    table.wait_for()
    wangwu = table.locator("tr", has_text="王五")
    cell = wangwu.locator("td[data-figure=on_time_delivery_rate]")
    # 4 of 12 on time against a target of at least 90 %: red; the punctual advisor is green.
    assert cell.get_attribute("data-verdict") == "missed"
    assert "table-danger" in cell.get_attribute("class")
    assert "33" in cell.inner_text()
    lina = table.locator("tr", has_text="李娜").locator("td[data-figure=on_time_delivery_rate]")
    assert lina.get_attribute("data-verdict") == "met"
    screenshot("manager-journey-scorecard")

    cell.locator("a").click()
    page.wait_for_url(lambda url: "/reports/visits/" in url)
    rows = page.locator("#report-visits tbody tr")
    shown = {rows.nth(i).locator("td").first.inner_text().strip() for i in range(rows.count())}
    assert shown == late  # exactly the eight late visits of that advisor, nobody else's
    assert "(8)" in page.inner_text("h1")
    screenshot("manager-journey-late-visits")
