"""The customer's online booking on a phone (issue 18), in a real browser on a 390×844
screen over a slow mobile connection: the maintenance reminder's SMS link opens the booking
page for the car with the predicted day picked; the code (read from the test SMS backend)
goes to the owner's masked mobile; the customer confirms a slot with a note, gets the
confirmation SMS, and through its link reschedules and then cancels."""

from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps
from django.utils import timezone
from playwright.sync_api import expect

from bookings.selectors import free_slots
from followups import services as followup_services
from followups.booking_links import read_booking_token
from messaging.backends import LocmemBackend
from tests.browser.test_repair_status_journey import slow_phone
from tests.factories import VehicleFactory
from tests.followups.test_services import delivered_visit
from tests.onlinebooking.conftest import open_shop  # noqa: F401 (fixture)
from visits.models import Appointment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def templates():
    """The service messages' texts (a transactional test's flush removes the seeded rows)."""
    for name in ("0002_seed_templates", "0006_booking_templates"):
        import_module(f"servicemessages.migrations.{name}").seed(apps, None)


def sent(purpose: str):
    return [m for m in LocmemBackend.outbox if m.purpose == purpose]


def local_path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def slot_label(page, slot):
    return page.locator(f'label:has(input[value="{slot.starts_at.isoformat()}"]) span').first


@pytest.mark.usefixtures("open_shop", "templates")
def test_from_the_reminder_link_to_a_booking_rescheduled_and_cancelled(
    browser, live_server, screenshot_dir
):
    LocmemBackend.outbox.clear()
    today = timezone.localdate()
    vehicle = VehicleFactory(
        plate="沪AD12345",
        registration_date=today - timedelta(days=400),
        owner__marketing_consent=True,
        owner__phone="+8613812345678",
    )
    delivered_visit(
        delivered_at=timezone.now() - timedelta(days=176), vehicle=vehicle, odometer_km=4000
    )
    followup_services.reminder_create_due(today=today)
    (reminder,) = sent("maintenance_reminder")
    link = reminder.params["link"]
    suggested = read_booking_token(link.rstrip("/").rsplit("/", 1)[1])[2]
    picked = next(
        s for s in free_slots(service_type="maintenance", start=suggested, days=3) if s.free
    )

    context, phone = slow_phone(browser)
    # The reminder's link: the car, the predicted day, the owner's mobile masked.
    phone.goto(live_server.url + local_path(link))
    expect(phone.locator("#booking-masked-phone")).to_have_text("138****5678")
    expect(phone.locator("#booking-suggested")).to_have_text(suggested.isoformat())
    assert "13812345678" not in phone.content()
    phone.screenshot(path=str(screenshot_dir / "booking-1-reminder-link.png"), full_page=True)
    phone.click("#send-code")
    phone.wait_for_url(f"{live_server.url}/book/code/")

    # The code, as the SMS backend received it.
    (code_sms,) = sent("booking_code")
    assert code_sms.recipient == "+8613812345678"
    phone.fill("#id_code", code_sms.params["code"])
    phone.screenshot(path=str(screenshot_dir / "booking-2-code.png"), full_page=True)
    phone.click("#check-code")
    phone.wait_for_url(f"{live_server.url}/book/slot/")

    # The predicted day's first free slot is already picked.
    expect(phone.locator("input[name=slot]:checked")).to_have_value(picked.starts_at.isoformat())
    phone.fill("#id_note", "左前轮异响")
    phone.screenshot(path=str(screenshot_dir / "booking-3-slot.png"), full_page=True)
    phone.click("#confirm-booking")
    expect(phone.locator("#booking-done")).to_be_visible()
    appointment = Appointment.objects.get()
    assert (appointment.vehicle, appointment.source) == (vehicle, "online")
    assert appointment.scheduled_at == picked.starts_at and appointment.notes == "左前轮异响"
    expect(phone.locator("#appointment-time")).to_have_text(
        timezone.localtime(picked.starts_at).strftime("%Y-%m-%d %H:%M")
    )
    phone.screenshot(path=str(screenshot_dir / "booking-4-confirmed.png"), full_page=True)

    # The confirmation SMS's link: reschedule to the next day's first free slot.
    (confirmation,) = sent("booking_confirmed")
    assert "沪AD12345" in confirmation.body
    phone.goto(live_server.url + local_path(confirmation.params["link"]))
    later = next(
        s
        for s in free_slots(
            service_type="maintenance",
            start=timezone.localtime(picked.starts_at).date() + timedelta(days=1),
            days=3,
        )
        if s.free
    )
    phone.click("#reschedule summary")
    slot_label(phone, later).click()
    phone.screenshot(path=str(screenshot_dir / "booking-5-reschedule.png"), full_page=True)
    phone.click("#confirm-reschedule")
    expect(phone.locator("#booking-done")).to_be_visible()
    expect(phone.locator("#appointment-time")).to_have_text(
        timezone.localtime(later.starts_at).strftime("%Y-%m-%d %H:%M")
    )
    appointment.refresh_from_db()
    assert appointment.scheduled_at == later.starts_at
    assert len(sent("booking_confirmed")) == 2  # the new time confirmed

    # Cancel, with the customer's reason.
    phone.click("#cancel summary")
    phone.select_option("#id_reason", "not_needed")
    phone.click("#confirm-cancel")
    expect(phone.locator("#appointment").first).to_have_attribute("data-status", "cancelled")
    phone.screenshot(path=str(screenshot_dir / "booking-6-cancelled.png"), full_page=True)
    appointment.refresh_from_db()
    assert appointment.status == "cancelled" and appointment.cancel_reason == "not_needed"
    context.close()
