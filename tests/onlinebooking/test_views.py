"""The booking pages: the happy path, and each bad input a clear message with nothing
written (a wrong code's counted try apart)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer, Vehicle
from followups.booking_links import booking_link
from messaging.models import Message
from onlinebooking import services
from onlinebooking.models import BookingCode
from tests.factories import AppointmentFactory, VehicleFactory
from tests.onlinebooking.conftest import a_free_slot, the_code
from visits.models import Appointment

pytestmark = pytest.mark.django_db


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def text(response) -> str:
    return response.content.decode()


def ask_code(client, plate="沪A12345", phone="13800138000"):
    return client.post("/book/", {"plate": plate, "phone": phone})


def verified_client(client, **kwargs):
    assert ask_code(client, **kwargs).status_code == 302
    row = BookingCode.objects.latest("pk")
    assert client.post("/book/code/", {"code": the_code(row)})["Location"] == "/book/slot/"
    return client


def test_the_whole_booking(client, open_shop):
    assert client.get("/book/").status_code == 200
    response = ask_code(client)
    assert response["Location"] == "/book/code/"
    assert "138****8000" in text(client.get("/book/code/"))
    code = the_code(BookingCode.objects.get())
    assert client.post("/book/code/", {"code": code})["Location"] == "/book/slot/"
    page = client.get("/book/slot/")
    assert page.status_code == 200 and "沪A12345" in text(page)
    slot = a_free_slot()
    booked = client.post(
        "/book/slot/",
        {"service_type": "maintenance", "slot": slot.starts_at.isoformat(), "note": "异响"},
    )
    assert booked.status_code == 302 and "/book/m/" in booked["Location"]
    appointment = Appointment.objects.get()
    assert appointment.source == "online" and appointment.scheduled_at == slot.starts_at
    manage = client.get(booked["Location"])
    assert manage.status_code == 200 and 'id="booking-done"' in text(manage)
    assert client.get("/book/slot/")["Location"] == "/book/"  # the session step is spent


def test_a_plate_in_the_wrong_format(client):
    response = ask_code(client, plate="ABC123")
    assert response.status_code == 400
    assert "车牌号应以省份简称开头" in text(response)
    assert not BookingCode.objects.exists() and not Message.objects.exists()


def test_a_bad_mobile_number(client):
    response = ask_code(client, phone="123")
    assert response.status_code == 400 and 'class="field-error"' in text(response)
    assert not BookingCode.objects.exists()


def test_too_many_code_requests(client):
    assert ask_code(client).status_code == 302
    again = ask_code(client)
    assert again.status_code == 400 and "秒后再重新获取" in text(again)
    assert BookingCode.objects.count() == 1


def test_a_wrong_code_then_too_many_tries(client):
    ask_code(client)
    row = BookingCode.objects.get()
    wrong = "000000" if the_code(row) != "000000" else "111111"
    response = client.post("/book/code/", {"code": wrong})
    assert response.status_code == 400 and "还可以再试 4 次" in text(response)
    for _try in range(4):
        client.post("/book/code/", {"code": wrong})
    response = client.post("/book/code/", {"code": the_code(row)})
    assert response.status_code == 400 and "错误次数过多" in text(response)
    assert client.get("/book/slot/")["Location"] == "/book/"


def test_an_expired_code(client):
    ask_code(client)
    row = BookingCode.objects.get()
    BookingCode.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post("/book/code/", {"code": the_code(row)})
    assert response.status_code == 400
    assert "验证码已过期" in text(response)


def test_a_slot_in_the_past(client, open_shop):
    verified_client(client)
    past = (timezone.now() - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    response = client.post("/book/slot/", {"service_type": "maintenance", "slot": past.isoformat()})
    assert response.status_code == 400 and "该时段已过" in text(response)
    assert not Appointment.objects.exists() and not Customer.objects.exists()
    assert not Vehicle.objects.exists()


def test_a_full_slot_offers_the_next_free_ones(client, open_shop):
    slot = a_free_slot()
    for _n in range(3):
        AppointmentFactory(scheduled_at=slot.starts_at)
    verified_client(client)
    response = client.post(
        "/book/slot/", {"service_type": "maintenance", "slot": slot.starts_at.isoformat()}
    )
    assert response.status_code == 400 and "该时段已约满" in text(response)
    assert 'id="next-free"' in text(response)
    assert Appointment.objects.count() == 3 and Customer.objects.count() == 3


def test_no_slot_or_a_garbled_one(client, open_shop):
    verified_client(client)
    for value in ("", "tomorrow", "2026-13-45T99:00"):
        response = client.post("/book/slot/", {"service_type": "maintenance", "slot": value})
        assert response.status_code == 400 and "请选择预约时段" in text(response)
    assert not Appointment.objects.exists()


def test_a_reminder_link_sends_the_code_to_the_owner_masked(client, open_shop):
    vehicle = VehicleFactory(plate="沪A54321")
    suggested = timezone.localdate() + timedelta(days=3)
    link = path_of(booking_link(vehicle_id=vehicle.pk, suggested=suggested))
    page = client.get(link)
    assert page.status_code == 200
    assert vehicle.owner.masked_phone in text(page) and vehicle.owner.phone[3:] not in text(page)
    assert client.post(link)["Location"] == "/book/code/"
    assert f'href="{link}" id="ask-again"' in text(client.get("/book/code/"))
    row = BookingCode.objects.get()
    assert row.phone == vehicle.owner.phone and row.vehicle == vehicle
    client.post("/book/code/", {"code": the_code(row)})
    slot_page = text(client.get("/book/slot/"))
    first = next(s for s in a_free_slot_list(suggested) if s.free)
    assert f'value="{first.starts_at.isoformat()}" checked' in slot_page


def a_free_slot_list(day):
    from bookings.selectors import free_slots

    return free_slots(service_type="maintenance", start=day, days=1)


def test_bad_and_expired_links(client):
    assert client.get("/book/v/not-a-token/").status_code == 404
    assert client.get("/book/m/not-a-token/").status_code == 404
    assert client.post("/book/m/not-a-token/cancel/", {"reason": "not_needed"}).status_code == 404
    appointment = AppointmentFactory(scheduled_at=timezone.now() - timedelta(days=2))
    token = path_of(services.manage_link_create(appointment=appointment))
    assert client.get(token).status_code == 410


def test_manage_reschedule_full_and_cancel_without_reason(client, open_shop):
    vehicle = VehicleFactory()
    appointment, link = services.online_booking_create(
        verified=services.Verified(phone=vehicle.owner.phone, plate=vehicle.plate),
        service_type="maintenance",
        scheduled_at=a_free_slot().starts_at,
    )
    full = a_free_slot(day_offset=2)
    for _n in range(3):
        AppointmentFactory(scheduled_at=full.starts_at)
    path = path_of(link)
    response = client.post(path + "reschedule/", {"slot": full.starts_at.isoformat()})
    assert response.status_code == 400 and 'id="next-free"' in text(response)
    response = client.post(path + "cancel/", {"reason": ""})
    assert response.status_code == 400 and "请选择取消原因" in text(response)
    response = client.post(path + "cancel/", {"reason": "other", "note": ""})
    assert response.status_code == 400 and "请写明原因" in text(response)
    appointment.refresh_from_db()
    assert appointment.status == "booked" and appointment.scheduled_at != full.starts_at
    moved_to = a_free_slot(day_offset=3)
    assert (
        client.post(path + "reschedule/", {"slot": moved_to.starts_at.isoformat()}).status_code
        == 302
    )
    assert client.post(path + "cancel/", {"reason": "not_needed"}).status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == "cancelled" and appointment.scheduled_at == moved_to.starts_at


def test_the_pages_in_english(client):
    client.cookies["django_language"] = "en"
    response = ask_code(client, plate="ABC123")
    assert "Book online" in text(response)
