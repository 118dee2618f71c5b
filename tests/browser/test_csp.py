"""The Content-Security-Policy (issue 15, part 7) keeps every page working: the charts draw,
the API docs load, the survey page submits once, the language switch and "select all" work
without inline handlers, and the browser reports no violation anywhere."""

import pytest

from surveys import services as survey_services
from tests.factories import UserFactory, contact_all_day
from tests.surveys.conftest import make_delivered_visit, received_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watch_violations(page) -> list:
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return violations


def test_pages_work_under_the_policy_with_no_violation(page, live_server, screenshot_dir):
    contact_all_day()  # the survey message goes out whatever the hour the suite runs
    UserFactory(role="admin", username="root-csp", last_name="赵", first_name="敏")
    visit = make_delivered_visit(hours_ago=30, name="周婷")
    survey_services.invitation_create_for_visit(visit_id=visit.pk)
    survey_services.invitation_sweep_due()
    link = received_link()
    make_delivered_visit(hours_ago=400 * 24, name="钱多")  # a lapsed customer
    violations = watch_violations(page)

    response = page.goto(f"{live_server.url}/accounts/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self' 'nonce-" not in policy  # no inline script on this page
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    page.fill("#id_username", "root-csp")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)

    page.goto(f"{live_server.url}/reports/")
    page.wait_for_selector("html[data-charts]", state="attached")
    assert page.evaluate("window.SHOPCRM_CHARTS") >= 9  # ECharts drew every chart
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info")  # Swagger UI started
    page.goto(f"{live_server.url}/admin/")
    page.wait_for_selector("#content")
    page.goto(f"{live_server.url}/reports/customers/?state=")
    boxes = page.locator('input[name="customer"]')
    assert boxes.count() >= 1
    page.check("input.js-check-all")  # "select all", without an inline handler
    assert all(boxes.nth(n).is_checked() for n in range(boxes.count()))
    with page.expect_navigation():
        page.select_option("select.js-submit-on-change", "en")  # the language switch
    assert page.locator("html").get_attribute("lang") == "en"

    page.goto(f"{live_server.url}/{link.split('/', 3)[3]}")
    page.wait_for_selector("#survey-form")
    assert violations == [], violations
