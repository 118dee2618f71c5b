"""The reception desk's board on a tablet (issue 16): at 1024×768 the workshop comes before
the appointment list; one tap moves a car on and the undo takes it back; the board picks up
a car another advisor checked in without a reload, keeping the scroll position; cancelling
an appointment asks for a reason first (bug 12)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import AppointmentFactory, UserFactory, VisitFactory
from visits.models import Appointment, Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def tablet(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def test_the_board_on_the_reception_tablet(tablet, live_server, screenshot_dir):
    UserFactory(role="advisor", username="lina", last_name="李", first_name="娜")
    visit = VisitFactory(status=Visit.Status.CHECKED_IN, ro_number="RO2026112900001")
    for minutes in range(-50, 400, 30):  # a long list of appointments, one already late
        AppointmentFactory(scheduled_at=timezone.now() + timedelta(minutes=minutes))
    page = tablet
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "lina")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/board/")

    workshop = page.locator(".board-column[data-status=checked_in]").bounding_box()
    appointments = page.locator("#board-appointments").bounding_box()
    assert workshop["y"] + workshop["height"] <= appointments["y"]  # the workshop first
    if timezone.localtime(timezone.now() - timedelta(minutes=50)).date() == timezone.localdate():
        expect(page.locator("#overdue-appointments")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "board-tablet-1024.png"), full_page=True)

    # One tap on, one tap back.
    page.click(f"[data-visit='{visit.pk}'] .board-step")
    expect(page.locator(".board-column[data-status=in_progress]")).to_contain_text(visit.ro_number)
    expect(page.locator("#board-undo")).to_be_visible()
    page.click("#undo-step")
    expect(page.locator(".board-column[data-status=checked_in]")).to_contain_text(visit.ro_number)
    visit.refresh_from_db()
    assert visit.status == Visit.Status.CHECKED_IN

    # Another advisor checks a car in: the board shows it without a reload, in place.
    page.mouse.wheel(0, 300)
    page.wait_for_timeout(300)
    scrolled = page.evaluate("window.scrollY")
    arrived = VisitFactory(status=Visit.Status.CHECKED_IN, ro_number="RO2026112900002")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")  # as every 30 s
    expect(page.locator(".board-column[data-status=checked_in]")).to_contain_text(arrived.ro_number)
    assert abs(page.evaluate("window.scrollY") - scrolled) < 5

    # Cancelling an appointment asks why.
    appointment = (
        Appointment.objects.filter(scheduled_at__gt=timezone.now()).order_by("scheduled_at").first()
    )
    page.goto(f"{live_server.url}/board/")
    page.click(f"a.appointment-cancel[href$='/appointments/{appointment.pk}/cancel/']")
    page.wait_for_selector("#appointment-cancel-form")
    page.screenshot(path=str(screenshot_dir / "appointment-cancel-1024.png"), full_page=True)
    page.click("#confirm-cancel")  # no reason yet
    expect(page.locator("#appointment-cancel-form")).to_contain_text("请选择取消原因")
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED
    page.select_option("select[name=reason]", "rescheduled")
    page.click("#confirm-cancel")
    page.wait_for_url(f"{live_server.url}/board/")
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancel_reason) == ("cancelled", "rescheduled")


def test_the_printed_repair_order_fits_one_a4_page(page, live_server, screenshot_dir):
    """Issue 16: the shop's name, address and phone, the delivery time and the signature
    lines, on one A4 page even with long notes."""
    UserFactory(role="advisor", username="lina", last_name="李", first_name="娜")
    visit = VisitFactory(
        status=Visit.Status.DELIVERED,
        delivered_at=timezone.now(),
        labour_amount=320,
        parts_amount=560,
        total_amount=880,
        concern="发动机故障灯亮，怠速抖动，空调有异味。" * 40,
        walkaround_notes="左前翼子板划痕，后保险杠轻微凹陷。" * 30,
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "lina")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/board/")
    page.goto(f"{live_server.url}/visits/{visit.pk}/print/?noprint=1")
    expect(page.locator("#ro-shop-contact")).to_be_visible()
    expect(page.locator("#ro-delivered-at")).not_to_be_empty()
    page.emulate_media(media="print")
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    (screenshot_dir / "repair-order.pdf").write_bytes(pdf)
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert pages == 1, pages
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.screenshot(path=str(screenshot_dir / "repair-order.png"), full_page=True)


def test_the_check_in_form_on_the_tablet_keeps_its_button_in_reach(tablet, live_server):
    """At 1024×768 the form is longer than the screen: its submit button stays at the bottom
    of the screen (one hand: fill in, tap with the thumb), and every field is finger-sized."""
    UserFactory(role="advisor", username="lina", last_name="李", first_name="娜")
    page = tablet
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "lina")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/board/")
    page.goto(f"{live_server.url}/visits/check-in/")
    page.wait_for_selector("#check-in-form")
    button = page.locator("#submit-check-in").bounding_box()
    assert button["y"] + button["height"] <= 768  # on screen without scrolling
    for field in ("#id_customer_name", "#id_customer_phone", "#id_plate", "#id_odometer_km"):
        assert page.locator(field).bounding_box()["height"] >= 44, field
