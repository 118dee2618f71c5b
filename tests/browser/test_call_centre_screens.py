"""The call centre's screens at the desk's widths (1366 and 1024 × 768), in Chinese and in
English (issue 16): the agent's call with an unhappy customer's survey answers keeps the
outcome buttons on screen without scrolling, scores show with their scale; the manager's
bulk reassign says what it did and keeps the filters; the lapsed list shows each
customer's win-back call. Screenshots go to test-artifacts/ (call-centre-*)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from followups import services as followup_services
from followups.models import FollowUpTask
from surveys import selectors as survey_selectors
from surveys import services as survey_services
from tests.browser.test_agent_journey import outcome_buttons_in_view
from tests.factories import CustomerFactory, UserFactory, contact_all_day
from tests.reports.test_views import delivered
from tests.surveys.conftest import make_delivered_visit
from tests.surveys.test_services import GOOD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
S = FollowUpTask.Status


@pytest.fixture
def shop():
    contact_all_day()
    visit = make_delivered_visit(name="周杰")
    survey_services.response_create(
        template=survey_selectors.template_default(),
        visit=visit,
        channel="sms",
        answers={**GOOD, "rel_fixed_right": 1, "nps": 5},
        submitted_at=timezone.now() - timedelta(minutes=5),
        require_required=True,
    )
    for n in range(3):  # three-day calls waiting
        followup_services.post_service_task_create(
            visit_id=make_delivered_visit(name=f"王{n}", phone=f"+8613800000{n:03d}").pk
        )
    lapsed = [CustomerFactory(name=f"老客户{n}") for n in range(3)]
    for customer in lapsed:
        delivered(500, customer)
    UserFactory(role="agent", username="agent-s", last_name="陈", first_name="静")
    UserFactory(role="agent", username="agent-t", last_name="欧阳", first_name="娜")
    UserFactory(role="manager", username="manager-s", last_name="李", first_name="强")
    return lapsed


def open_as(browser, live_server, username, *, width, language):
    context = browser.new_context(viewport={"width": width, "height": 768})
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return context, page


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("width", [1366, 1024])
def test_call_centre_screens(browser, live_server, screenshot_dir, shop, width, language):
    name = f"{language}-{width}"
    context, page = open_as(browser, live_server, "agent-s", width=width, language=language)
    page.goto(f"{live_server.url}/calls/")
    page.click("#next-call")
    page.wait_for_selector("#outcome-form")
    expect(page.locator("#alert-nps")).to_have_text("5/10")
    expect(page.locator("#alert-answers")).to_contain_text("1/5")
    outcome_buttons_in_view(page)
    page.screenshot(path=str(screenshot_dir / f"call-centre-call-{name}.png"))
    page.click("label[for=outcome-no_answer]")
    page.click("#save-outcome")
    page.wait_for_selector("#outcome-form")  # the next call, opened by itself
    page.screenshot(path=str(screenshot_dir / f"call-centre-next-call-{name}.png"))
    context.close()

    context, page = open_as(browser, live_server, "manager-s", width=width, language=language)
    page.goto(f"{live_server.url}/calls/team/?kind=post_service")
    boxes = page.locator("#team-tasks input[name=task]")
    expect(boxes).to_have_count(3)  # the three-day calls (one of them an agent is on)
    page.locator("#team-tasks thead .js-check-all").check()
    page.select_option("#bulk-agent", label="欧阳娜")
    page.click("#bulk-reassign")
    page.wait_for_url(lambda url: "kind=post_service" in url)
    expect(page.locator(".alert-success")).to_contain_text("2")
    page.screenshot(path=str(screenshot_dir / f"call-centre-team-{name}.png"), full_page=True)
    assert FollowUpTask.objects.filter(assigned_to__username="agent-t").count() == 2

    page.goto(f"{live_server.url}/reports/customers/?state=lapsed")
    page.locator("#report-customers tbody input[name=customer]").first.check()
    page.click("#create-win-backs")
    page.wait_for_url(lambda url: "state=lapsed" in url)
    expect(page.locator("#report-customers td.win-back .badge")).to_have_count(1)
    page.screenshot(path=str(screenshot_dir / f"call-centre-lapsed-{name}.png"), full_page=True)
    context.close()
