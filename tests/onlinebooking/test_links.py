"""The booking link in maintenance reminders and win-back messages: signed, naming the car
and the suggested day, expiring; the reminder and win-back SMS carry it (consent only)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from followups import booking_links, services
from followups.booking_links import booking_link, read_booking_token
from messaging.models import Message
from tests.factories import VehicleFactory
from tests.followups.test_services import delivered_visit

pytestmark = pytest.mark.django_db


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[1]


def test_the_link_names_the_car_and_day_and_cannot_be_forged(monkeypatch):
    day = timezone.localdate() + timedelta(days=5)
    token = token_of(booking_link(vehicle_id=42, suggested=day))
    assert read_booking_token(token) == ("ok", 42, day)
    forged = token.replace("42.", "43.", 1)
    assert read_booking_token(forged) == ("invalid", None, None)
    assert read_booking_token("") == ("invalid", None, None)
    monkeypatch.setattr(booking_links, "LINK_DAYS", -1)
    assert read_booking_token(token) == ("expired", None, None)


def test_the_maintenance_reminder_sms_carries_the_booking_link(open_shop):
    today = timezone.localdate()
    vehicle = VehicleFactory(
        registration_date=today - timedelta(days=400), owner__marketing_consent=True
    )
    delivered_visit(
        delivered_at=timezone.now() - timedelta(days=176), vehicle=vehicle, odometer_km=4000
    )
    assert services.reminder_create_due(today=today) == 1
    message = Message.objects.get(purpose="maintenance_reminder")
    state, vehicle_id, suggested = read_booking_token(token_of(message.params["link"]))
    assert (state, vehicle_id) == ("ok", vehicle.pk) and suggested >= today
    assert message.params["link"] in message.body and message.secret_params == ["link"]


def test_the_win_back_sms_carries_the_booking_link_with_consent_only(open_shop):
    lapsed = delivered_visit(
        delivered_at=timezone.now() - timedelta(days=400),
        vehicle=VehicleFactory(owner__marketing_consent=True),
    )
    delivered_visit(delivered_at=timezone.now() - timedelta(days=410))  # no consent
    assert services.win_back_create_due() == 2
    message = Message.objects.get(purpose="win_back")
    assert message.customer == lapsed.customer
    state, vehicle_id, suggested = read_booking_token(token_of(message.params["link"]))
    assert (state, vehicle_id) == ("ok", lapsed.vehicle_id)
    assert suggested > timezone.localdate()  # the predicted day is past: tomorrow
