"""The complaint's closed loop in a real browser: an agent's call "reached with an issue"
becomes a complaint, the manager acknowledges and resolves it with a root cause, the
callback lands in the queue, the agent records "accepted", and the complaint closes."""

import pytest

from complaints.models import Complaint
from followups import services as followup_services
from followups.models import FollowUpTask
from tests.factories import UserFactory, contact_all_day
from tests.surveys.conftest import make_delivered_visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username, landing):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if landing:
        assert page.url == f"{live_server.url}{landing}"


def test_complaint_closed_loop(page, browser, live_server, screenshot_dir):
    contact_all_day()
    visit = make_delivered_visit(hours_ago=30, name="吴刚")
    followup_services.post_service_task_create(visit_id=visit.pk)
    UserFactory(role="agent", username="xiaoli", last_name="李", first_name="晓")
    UserFactory(role="manager", username="laozhang", last_name="张", first_name="经理")

    # The agent's call: reached, with an issue.
    log_in(page, live_server, "xiaoli", "/calls/")
    page.click("#next-call")
    page.wait_for_selector("#outcome-form")
    page.click("label[for=outcome-reached_issue]")
    page.fill("textarea[name=note]", "保养后发动机灯又亮了")
    page.click("#save-outcome")
    page.wait_for_selector("#complaint-form")
    assert Complaint.objects.count() == 1  # made with the call; the form completes it
    assert page.is_visible("#complaint-made-from-call")
    assert page.input_value("textarea[name=description]") == "保养后发动机灯又亮了"
    assert page.input_value("select[name=visit]") == str(visit.pk)
    page.select_option("select[name=category]", "not_fixed_first_time")
    page.select_option("select[name=severity]", "high")
    page.screenshot(path=str(screenshot_dir / "complaint-form.png"), full_page=True)
    page.click("#save-complaint")
    page.wait_for_selector("#timeline")
    complaint = Complaint.objects.get()
    assert complaint.owner.username == "xiaoli" and complaint.number in page.content()

    # The manager acknowledges and resolves it with a root cause.
    manager = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    desk = manager.new_page()
    desk.set_default_timeout(15_000)
    log_in(desk, live_server, "laozhang", None)
    desk.goto(f"{live_server.url}/complaints/")
    desk.click(f"text={complaint.number}")
    desk.fill("textarea[name=note]", "已致电客户，安排明天复检")
    desk.click("#acknowledge")
    desk.wait_for_selector("#resolve-form")
    assert "已响应" in desk.inner_text("#complaint-status")
    desk.fill("textarea[name=resolution]", "复检发现传感器松动，已免费紧固")
    desk.select_option("select[name=root_cause]", "people")
    desk.fill("textarea[name=corrective_action]", "保养交车前增加故障灯检查")
    desk.click("#resolve")
    desk.wait_for_selector("text=已解决")
    desk.screenshot(path=str(screenshot_dir / "complaint-resolved.png"), full_page=True)
    complaint.refresh_from_db()
    assert (complaint.status, complaint.root_cause) == ("resolved", "people")

    # The callback is in the agent's queue; the customer accepts.
    page.goto(f"{live_server.url}/calls/")
    page.click("#next-call")
    page.wait_for_selector("#callback-complaint")
    task = FollowUpTask.objects.get(kind=FollowUpTask.Kind.COMPLAINT_CALLBACK)
    assert task.status == FollowUpTask.Status.CLAIMED
    assert "客户接受处理结果" in page.inner_text("label[for=outcome-reached_satisfied]")
    page.click("label[for=outcome-reached_satisfied]")
    page.click("#save-outcome")
    page.wait_for_selector("#next-call")

    complaint.refresh_from_db()
    assert (complaint.status, complaint.customer_accepted) == ("closed", True)
    desk.goto(f"{live_server.url}/complaints/{complaint.pk}/")
    assert "已关闭" in desk.inner_text("#complaint-status")
    timeline = desk.inner_text("#timeline")
    for step in ["受理", "首次响应", "解决", "回访结果", "关闭"]:
        assert step in timeline
    desk.screenshot(path=str(screenshot_dir / "complaint-closed.png"), full_page=True)
    manager.close()
