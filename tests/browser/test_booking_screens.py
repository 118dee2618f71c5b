"""Booking on the reception tablet (1024 × 768): the advisor books a free slot at the desk,
and the agent books one from a reminder call with the outcome "booked" — each page fitting
the screen (the screenshot check's measures), in Chinese and in English."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from followups import services as followup_services
from followups import sources
from followups.models import FollowUpTask
from shopcalendar.rules import at
from tests.browser.conftest import ARTIFACTS
from tests.browser.test_screens import PROBLEMS, signed_in_context
from tests.factories import UserFactory, VehicleFactory, contact_all_day, open_for_bookings
from visits.models import Appointment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
TABLET = 1024


def fits(page, label):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"booking-{label}.png"), full_page=True)
    assert page.evaluate(PROBLEMS) == [], label


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_advisor_books_a_free_slot_at_the_desk_on_the_tablet(browser, live_server, language):
    monday = open_for_bookings()["monday"]
    UserFactory(role="advisor", username="desk-advisor", last_name="李", first_name="娜")
    vehicle = VehicleFactory()
    context, page = signed_in_context(browser, live_server, "desk-advisor", language, TABLET)
    page.goto(f"{live_server.url}/vehicles/{vehicle.pk}/appointments/new/")
    page.fill("#id_day", monday.isoformat())
    page.select_option("#slot-day-form select[name=service_type]", "repair")
    page.click("#show-slots")
    page.wait_for_url(lambda url: "day=" in url)
    fits(page, f"desk-{language}")
    page.select_option("#id_scheduled_at", f"{monday:%Y-%m-%d}T10:00")
    page.click("#appointment-form button[type=submit]")
    page.wait_for_url(lambda url: "/appointments/new/" not in url)
    context.close()
    appointment = Appointment.objects.get(vehicle=vehicle)
    assert (appointment.scheduled_at, appointment.service_type, appointment.source) == (
        at(monday, time(10)),
        "repair",
        "desk",
    )


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_agent_books_from_a_reminder_call_on_the_tablet(browser, live_server, language):
    contact_all_day()
    monday = open_for_bookings()["monday"]
    agent = UserFactory(role="agent", username="call-agent", last_name="王", first_name="芳")
    vehicle = VehicleFactory()
    task, _ = followup_services.task_create(
        kind=FollowUpTask.Kind.MAINTENANCE_REMINDER,
        source=sources.of_vehicle_service(vehicle.pk, monday),
        customer=vehicle.owner,
        vehicle=vehicle,
        due_at=timezone.now() - timedelta(minutes=1),
        reason="预计保养",
    )
    followup_services.task_claim_next(agent=agent)
    context, page = signed_in_context(browser, live_server, "call-agent", language, TABLET)
    page.goto(f"{live_server.url}/calls/{task.pk}/")
    fits(page, f"call-{language}")
    page.click("label[for=outcome-booked]")
    page.select_option("#id_booking_slot", f"{monday:%Y-%m-%d}T11:00")
    page.click("#save-outcome")
    page.wait_for_url(lambda url: f"/calls/{task.pk}/" not in url)
    context.close()
    task.refresh_from_db()
    assert task.outcome == FollowUpTask.Outcome.BOOKED
    assert task.appointment.scheduled_at == at(monday, time(11))
    assert task.appointment.source == "phone"
