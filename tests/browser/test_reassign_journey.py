"""An advisor leaves (issue 19), in a real browser: the manager opens 顾问客户, sees the
disabled advisor marked 已离职/停用 with their customers, picks them, ticks two advisors,
previews (how many to whom) and confirms; the message says how many moved to whom."""

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from tests.factories import CustomerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def team():
    leaving = UserFactory(
        role="advisor", username="leaving", last_name="王", first_name="强", is_active=False
    )
    takers = [
        UserFactory(role="advisor", username="li", last_name="李", first_name="娜"),
        UserFactory(role="advisor", username="zhang", last_name="张", first_name="伟"),
    ]
    for n in range(6):
        CustomerFactory(advisor=leaving, value_tier="vip" if n < 2 else "regular")
    UserFactory(role="manager", username="zhouli", last_name="周", first_name="丽")
    return leaving, takers


def test_the_manager_moves_a_leaving_advisor_s_customers(page, live_server, team, screenshot):
    leaving, (li, zhang) = team
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "zhouli")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.click("#user-menu")  # the managers' occasional pages are in the user menu
    page.click("#advisors-link")
    row = page.locator("#advisor-loads tr", has_text="王强")
    expect(row).to_contain_text("已离职/停用")
    expect(row).to_contain_text("6")
    row.get_by_role("link", name="改派客户").click()
    expect(page.locator("#id_source")).to_have_value(str(leaving.pk))
    page.get_by_label("李娜").check()
    page.get_by_label("张伟").check()
    page.click("#reassign-preview")
    expect(page.locator("#reassign-confirm")).to_contain_text("6")
    expect(page.locator("#reassign-shares")).to_contain_text("李娜：3 位")
    screenshot("reassign-confirm")
    assert Customer.objects.filter(advisor=leaving).count() == 6  # a preview writes nothing
    page.click("#reassign-do")
    expect(page.locator(".alert-success")).to_contain_text("已将 王强 的 6 位客户改派")
    assert Customer.objects.filter(advisor=leaving).count() == 0
    assert Customer.objects.filter(advisor=li).count() == 3
    assert Customer.objects.filter(advisor=zhang, value_tier="vip").count() == 1
