"""The customer's survey on a phone-sized screen over a slow mobile connection, and the
agent taking the short form on the three-day call — each in a real browser."""

import pytest

from followups import services as followup_services
from followups.models import FollowUpTask
from surveys import services
from surveys.models import SurveyInvitation, SurveyResponse
from tests.factories import UserFactory, contact_all_day
from tests.surveys.conftest import make_delivered_visit, received_link

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Lighthouse's mobile throttling ("slow 4G"): 150 ms round trip, 1.6 Mbit/s down.
SLOW_MOBILE = {
    "offline": False,
    "latency": 150,
    "downloadThroughput": 1.6 * 1024 * 1024 / 8,
    "uploadThroughput": 750 * 1024 / 8,
}


@pytest.fixture
def all_day():
    contact_all_day()


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def survey_link(live_server) -> str:
    visit = make_delivered_visit(hours_ago=30, name="周婷")
    services.invitation_create_for_visit(visit_id=visit.pk)
    services.invitation_sweep_due()
    link = received_link()
    return live_server.url + "/" + link.split("/", 3)[3]


def test_customer_answers_on_a_phone(phone_page, live_server, all_day, screenshot_dir):
    page = phone_page
    url = survey_link(live_server)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_MOBILE)

    page.goto(url)
    load_ms = page.evaluate(
        "() => { const n = performance.getEntriesByType('navigation')[0];"
        " return n.loadEventEnd - n.startTime; }"
    )
    transferred = page.evaluate(
        "() => performance.getEntriesByType('navigation')[0].transferSize"
        " + performance.getEntriesByType('resource').reduce((s, r) => s + r.transferSize, 0)"
    )
    print(f"survey page on slow mobile: {load_ms:.0f} ms, {transferred} bytes")
    assert load_ms < 1000, f"the survey page took {load_ms:.0f} ms on a slow mobile profile"
    assert page.evaluate("document.scripts.length") <= 1  # one small inline script

    # Submitting with required answers missing: clear messages, nothing written.
    page.locator("#q-rel_fixed_right label").nth(4).click()
    page.click("#submit-survey")
    page.wait_for_selector("#form-errors")
    assert page.locator("fieldset.bad").count() == 10  # 9 scale questions left + nps
    assert not SurveyResponse.objects.exists()
    page.screenshot(path=str(screenshot_dir / "survey-phone-errors.png"), full_page=True)

    for fieldset in page.locator("fieldset").all():
        scale = fieldset.locator(".scale label, .nps label")
        if scale.count():
            scale.nth(scale.count() - 1).click()  # very satisfied / 10
    page.fill("textarea[name=q_comment]", "交车很准时，谢谢！")
    page.click("#submit-survey")
    page.wait_for_selector("#survey-state[data-state=thanks]")
    page.screenshot(path=str(screenshot_dir / "survey-phone-thanks.png"), full_page=True)

    response = SurveyResponse.objects.get()
    assert (response.csi, response.nps_class, response.all_top_marks) == (100, "promoter", True)
    assert SurveyInvitation.objects.get().status == SurveyInvitation.Status.COMPLETED

    page.goto(url)  # the link again
    assert page.locator("#survey-state").get_attribute("data-state") == "answered"
    assert "已经填写过" in page.content()
    page.click("#lang-switch")
    page.wait_for_selector("text=already been answered")
    assert SurveyResponse.objects.count() == 1


def test_agent_takes_the_survey_on_the_phone(page, live_server, all_day, screenshot_dir):
    visit = make_delivered_visit(hours_ago=30, name="孙磊")
    services.invitation_create_for_visit(visit_id=visit.pk)
    followup_services.post_service_task_create(visit_id=visit.pk)
    UserFactory(role="agent", username="lina", last_name="李", first_name="娜")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "lina")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/calls/")
    page.click("#next-call")
    page.wait_for_selector("#phone-survey")
    assert "孙磊" in page.content()

    page.click("label[for=outcome-reached_satisfied]")
    page.click("label[for=q-rel_fixed_right-5]")
    page.click("label[for=q-rel_on_time-4]")
    page.click("label[for=q-asr_explanation-5]")
    page.click("label[for=q-tan_vehicle_clean-5]")
    page.select_option("select[name=q_nps]", "9")
    page.fill("input[name=q_comment]", "希望周末也能预约")
    page.screenshot(path=str(screenshot_dir / "agent-phone-survey.png"), full_page=True)
    page.click("#save-outcome")
    page.wait_for_selector("#next-call")

    response = SurveyResponse.objects.get()
    task = FollowUpTask.objects.get(kind=FollowUpTask.Kind.POST_SERVICE)
    assert (response.channel, response.follow_up_task, response.recorded_by.username) == (
        "phone",
        task,
        "lina",
    )
    # reliability (100 + 60) / 2 = 80, assurance 100, tangibles 100:
    # (.32·80 + .19·100 + .11·100) / .62 = 55.6 / .62
    assert response.csi == pytest.approx(55.6 / 0.62)
    assert response.answers.get(question__code="comment").text == "希望周末也能预约"
    assert task.status == FollowUpTask.Status.DONE
    # answered on the phone: no invitation goes out for this visit
    assert SurveyInvitation.objects.get().status == SurveyInvitation.Status.SKIPPED
