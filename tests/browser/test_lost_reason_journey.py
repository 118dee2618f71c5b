"""Why customers leave (issue 19), in a real browser at 1366×768: on a win-back call the
outcome buttons (now with "客户流失/不再回厂") are on screen without scrolling; "lost"
without a reason is refused where the agent looks, and with "其他" and a note it is saved;
the dashboard's Pareto then shows the reason and links to the call."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from followups import services, sources
from followups.models import FollowUpTask
from tests.browser.test_agent_journey import outcome_buttons_in_view
from tests.factories import UserFactory, VehicleFactory, contact_all_day

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def win_back():
    contact_all_day()
    vehicle = VehicleFactory()
    task, _created = services.task_create(
        kind=FollowUpTask.Kind.WIN_BACK,
        source=sources.of_lapse(vehicle.owner_id, timezone.localdate() - timedelta(days=400)),
        customer=vehicle.owner,
        vehicle=vehicle,
        due_at=timezone.now() - timedelta(minutes=1),
    )
    UserFactory(role="agent", username="chenjing", last_name="陈", first_name="静")
    UserFactory(role="manager", username="zhouli", last_name="周", first_name="丽")
    return task


def log_in(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")


def test_the_agent_records_why_the_customer_leaves(page, live_server, win_back, screenshot):
    page.set_viewport_size({"width": 1366, "height": 768})
    log_in(page, live_server, "chenjing")
    page.wait_for_url(f"{live_server.url}/calls/")
    page.click("#next-call")
    page.wait_for_selector("#outcome-form")
    outcome_buttons_in_view(page)
    page.click("label[for=outcome-lost]")
    page.click("#save-outcome")
    expect(page.locator("#lost-card")).to_contain_text("请选择流失原因")
    page.select_option("#id_lost_reason", "other")
    page.fill("#id_lost_note", "公司配车了")
    screenshot("call-lost-reason")
    page.click("label[for=outcome-lost]")
    page.click("#save-outcome")
    expect(page.locator(".alert-success")).to_contain_text("客户流失/不再回厂")
    win_back.refresh_from_db()
    assert (win_back.outcome, win_back.lost_reason, win_back.lost_note) == (
        "lost",
        "other",
        "公司配车了",
    )

    page.context.clear_cookies()
    log_in(page, live_server, "zhouli")
    page.goto(f"{live_server.url}/reports/")
    table = page.locator("#lost-reason-table")
    expect(table).to_contain_text("其他")
    table.get_by_role("link", name="其他").click()
    expect(page.locator("#report-lost-calls")).to_contain_text("公司配车了")
    screenshot("lost-calls")
