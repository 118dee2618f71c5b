"""The advisor's check-in journey in a real browser: log in, search an unknown plate,
create the customer and vehicle, check in, move through every state, deliver."""

import pytest
from playwright.sync_api import expect

from customers.models import Customer, Vehicle
from tests.factories import UserFactory, valid_vin, wrong_check_digit
from visits.models import Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLATE = "粤B8K2M7"


@pytest.fixture
def advisor_user():
    return UserFactory(role="advisor", username="lina", last_name="李", first_name="娜")


def log_in(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "lina")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/board/")


def start_new_check_in(page):
    page.fill("#nav-search", "粤b 8k2m7")
    page.press("#nav-search", "Enter")
    page.wait_for_selector("#no-results")
    page.click("#new-check-in")
    page.wait_for_selector("#check-in-form")
    assert page.input_value("#id_plate") == PLATE


def test_check_in_journey_from_unknown_plate_to_delivery(
    page, live_server, advisor_user, screenshot
):
    log_in(page, live_server)
    assert "今日看板" in page.content()
    start_new_check_in(page)

    vin = valid_vin(77)
    page.fill("#id_customer_name", "周杰")
    page.fill("#id_customer_phone", "139 1234 5678")
    page.fill("#id_vin", vin.lower())
    page.fill("#id_brand", "丰田")
    page.fill("#id_model", "凯美瑞")
    page.fill("#id_concern", "1 万公里保养，空调有异味")
    page.fill("#id_odometer_km", "10230")
    page.fill("#id_estimated_amount", "880")
    screenshot("check-in-form")
    page.click("#submit-check-in")

    page.wait_for_selector("#visit-status")
    assert "已接车" in page.inner_text("#visit-status")
    visit = Visit.objects.get()
    assert visit.vehicle.vin == vin and visit.vehicle.plate == PLATE
    assert visit.customer.phone == "+8613912345678" and visit.advisor == advisor_user

    for label, status in (
        ("维修中", "in_progress"),
        ("质检中", "quality_check"),
        ("待交车", "ready"),
    ):
        page.click(f"button[name=to_status][value={status}]")
        page.wait_for_selector(f"#visit-status .status-{status}")
        assert label in page.inner_text("#visit-status")

    # Delivery starts from the estimate; the total follows the labour and parts typed in.
    assert page.input_value("#id_total_amount") == "880.00"
    expect(page.locator("#deliver-estimate")).to_contain_text("880.00")
    page.fill("#id_labour_amount", "320")
    page.fill("#id_parts_amount", "560.5")
    assert page.input_value("#id_total_amount") == "880.50"
    page.click("#deliver-button")
    page.wait_for_selector("#visit-status .status-delivered")
    assert "880.50" in page.inner_text("#final-amounts")
    screenshot("delivered")
    visit.refresh_from_db()
    assert visit.status == Visit.Status.DELIVERED and visit.delivered_at is not None

    # The customer page shows the visit and keeps the phone masked until revealed.
    page.click(f"text={visit.customer.name}")
    page.wait_for_selector(".phone-value")
    assert page.inner_text(".phone-value") == "139****5678"
    page.click(".js-reveal-phone")
    expect(page.locator(".phone-value")).to_have_text("13912345678")  # (no eval under the CSP)
    assert visit.customer.phone_reveals.count() == 1
    assert visit.ro_number in page.content()


def test_check_in_with_bad_input_shows_errors_and_saves_nothing(
    page, live_server, advisor_user, screenshot
):
    log_in(page, live_server)
    start_new_check_in(page)
    page.fill("#id_customer_name", "周杰")
    page.fill("#id_customer_phone", "139 1234")
    page.fill("#id_vin", wrong_check_digit(valid_vin(78)))
    page.click("#submit-check-in")

    page.wait_for_selector(".invalid-feedback")
    body = page.content()
    screenshot("check-in-errors")
    assert "校验位不符" in body
    assert "不是有效的手机号" in body
    # What the advisor typed is still there to correct.
    assert page.input_value("#id_customer_name") == "周杰"
    assert page.input_value("#id_plate") == PLATE
    assert (Customer.objects.count(), Vehicle.objects.count(), Visit.objects.count()) == (0, 0, 0)


def test_the_same_pages_in_english(page, live_server, advisor_user):
    log_in(page, live_server)
    page.select_option("select[name=language]", "en")
    page.wait_for_selector("text=Today's board")
    page.goto(f"{live_server.url}/visits/check-in/?plate={PLATE}")
    page.fill("#id_customer_name", "Jay")
    page.fill("#id_customer_phone", "12345")
    page.fill("#id_vin", valid_vin(79))
    page.click("#submit-check-in")
    page.wait_for_selector(".invalid-feedback")
    assert "not a valid mobile or landline number" in page.content()
    assert Customer.objects.count() == 0
