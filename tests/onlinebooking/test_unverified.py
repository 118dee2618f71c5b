"""The records the booking page creates unverified: flagged to the advisor on the board and
at check-in, completed there (the real VIN; a car already registered with it is offered,
as at registration) or on the customer's edit page."""

import pytest
from django.utils import timezone

from customers import services as customer_services
from customers.models import Vehicle
from onlinebooking import services
from tests.factories import VehicleFactory, valid_vin
from tests.onlinebooking.conftest import a_free_slot
from visits.models import Appointment

pytestmark = pytest.mark.django_db


@pytest.fixture
def online(open_shop):
    appointment, _link = services.online_booking_create(
        verified=services.Verified(phone="+8613800138000", plate="沪A12345"),
        service_type="maintenance",
        scheduled_at=a_free_slot().starts_at,
    )
    return appointment


def test_the_board_and_the_check_in_flag_unverified_records(client, advisor, online):
    # Today's board: the online appointment, at once.
    Appointment.objects.filter(pk=online.pk).update(scheduled_at=timezone.now())
    client.force_login(advisor)
    board = client.get("/board/").content.decode()
    assert "沪A12345" in board and "appointment-unverified" in board
    page = client.get(f"/visits/check-in/?appointment={online.pk}").content.decode()
    assert 'id="customer-unverified"' in page and 'id="vehicle-unverified"' in page
    assert online.vehicle.vin not in page  # the placeholder is not shown as a VIN


def test_the_advisor_completes_the_vin(client, advisor, online):
    client.force_login(advisor)
    url = f"/vehicles/{online.vehicle_id}/complete/"
    back = f"/visits/check-in/?appointment={online.pk}"
    response = client.post(url, {"vin": "NOT-A-VIN", "next": back})
    assert response["Location"] == back
    assert not Vehicle.objects.get(pk=online.vehicle_id).verified
    taken = VehicleFactory()
    client.post(url, {"vin": taken.vin, "next": back})
    messages = client.get(back).content.decode()
    assert "已登记" in messages and taken.plate in messages
    assert Vehicle.objects.get(pk=online.vehicle_id).vin.startswith("Q")
    vin = valid_vin(987654)
    client.post(url, {"vin": vin, "next": back})
    vehicle = Vehicle.objects.get(pk=online.vehicle_id)
    assert (vehicle.vin, vehicle.verified, vehicle.verification_note) == (vin, True, "")
    assert 'id="vehicle-unverified"' not in client.get(back).content.decode()


def test_an_agent_may_not_complete_a_vehicle(client, agent, online):
    client.force_login(agent)
    response = client.post(f"/vehicles/{online.vehicle_id}/complete/", {"vin": valid_vin(5)})
    assert response.status_code == 403
    assert not Vehicle.objects.get(pk=online.vehicle_id).verified


def test_saving_the_customer_as_staff_completes_it(advisor, online):
    customer = customer_services.customer_update(customer=online.customer, by=advisor, name="张伟")
    assert customer.verified and customer.verification_note == ""
