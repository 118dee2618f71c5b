"""The one-time code (hashed, expiring, a few tries, rate-limited per number and address),
the booking with unverified records, the manage link and the day-before reminder."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from bookings.services import SlotFull
from customers.models import Customer, Vehicle
from messaging.backends import LocmemBackend
from messaging.models import Message
from onlinebooking import services
from onlinebooking.models import BookingCode, ManageLink
from shopcrm.errors import DomainError
from tests.factories import AppointmentFactory, CustomerFactory, VehicleFactory
from tests.onlinebooking.conftest import a_free_slot, the_code
from visits.models import Appointment

pytestmark = pytest.mark.django_db
PHONE, PLATE = "13800138000", "沪A12345"


def request_code(phone=PHONE, plate=PLATE, address="10.0.0.1", **kwargs):
    return services.code_request(phone=phone, plate=plate, address=address, **kwargs)


# ---------------------------------------------------------------- the code


def test_a_code_is_stored_hashed_and_sent_as_a_transactional_sms():
    row = request_code()
    code = the_code(row)
    assert len(code) == 6 and code.isdigit()
    assert code not in row.code_hash and len(row.code_hash) == 64
    assert row.phone == "+8613800138000" and row.plate == "沪A12345"
    assert row.expires_at == row.created_at + timedelta(minutes=5)
    message = Message.objects.get(purpose="booking_code")
    assert message.recipient == "+8613800138000" and message.customer is None
    assert message.secret_params == ["code"] and code in message.body


def test_the_right_code_verifies_once():
    row = request_code()
    verified = services.code_verify(code_id=row.pk, code=the_code(row))
    assert verified.verified_at is not None
    with pytest.raises(DomainError) as refused:
        services.code_verify(code_id=row.pk, code=the_code(row))
    assert refused.value.code == "no_code"


def test_a_wrong_code_counts_a_try_and_the_sixth_try_is_refused_even_when_right():
    row = request_code()
    for left in (4, 3, 2, 1):
        with pytest.raises(DomainError) as refused:
            services.code_verify(
                code_id=row.pk, code="000000" if the_code(row) != "000000" else "111111"
            )
        assert refused.value.code == "wrong_code"
        assert str(left) in str(refused.value.message)
    with pytest.raises(DomainError):
        services.code_verify(code_id=row.pk, code="abcdef")
    assert BookingCode.objects.get(pk=row.pk).attempts == 5
    with pytest.raises(DomainError) as refused:
        services.code_verify(code_id=row.pk, code=the_code(row))
    assert refused.value.code == "too_many_tries"
    assert BookingCode.objects.get(pk=row.pk).verified_at is None


def test_an_expired_code_is_refused():
    row = request_code()
    later = row.created_at + timedelta(minutes=5, seconds=1)
    with pytest.raises(DomainError) as refused:
        services.code_verify(code_id=row.pk, code=the_code(row), now=later)
    assert refused.value.code == "code_expired"
    assert services.code_verify(
        code_id=row.pk, code=the_code(row), now=later - timedelta(seconds=2)
    ).verified_at


def test_one_code_a_minute_and_five_an_hour_per_number():
    now = timezone.now()
    request_code(now=now)
    with pytest.raises(DomainError) as refused:
        request_code(now=now + timedelta(seconds=59))
    assert refused.value.code == "code_too_soon"
    for minutes in (1, 2, 3, 4):
        request_code(now=now + timedelta(minutes=minutes))
    with pytest.raises(DomainError) as refused:
        request_code(now=now + timedelta(minutes=5))
    assert refused.value.code == "too_many_codes"
    assert BookingCode.objects.count() == 5
    request_code(now=now + timedelta(minutes=61))  # the hour has passed


def test_twenty_codes_an_hour_per_address():
    now = timezone.now()
    for n in range(20):
        request_code(phone=f"1390000{n:04d}", now=now)
    with pytest.raises(DomainError) as refused:
        request_code(phone="13911112222", now=now)
    assert refused.value.code == "too_many_codes"
    request_code(phone="13911112222", address="10.0.0.2", now=now)  # another address


def test_a_bad_phone_or_plate_writes_nothing():
    with pytest.raises(ValidationError) as refused:
        request_code(phone="12345", plate="ABC123")
    assert set(refused.value.message_dict) == {"phone", "plate"}
    with pytest.raises(ValidationError) as refused:
        request_code(phone="021-12345678")  # a landline gets no SMS
    assert set(refused.value.message_dict) == {"phone"}
    assert not BookingCode.objects.exists() and not Message.objects.exists()


def test_old_codes_are_pruned():
    old = request_code()
    BookingCode.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    request_code(phone="13900001111")
    assert services.booking_codes_prune() == 1
    assert BookingCode.objects.count() == 1


# ---------------------------------------------------------------- booking


def test_a_new_number_and_plate_book_as_unverified_records(open_shop):
    slot = a_free_slot()
    verified = services.Verified(phone="+8613800138000", plate=PLATE)
    appointment, link = services.online_booking_create(
        verified=verified, service_type="maintenance", scheduled_at=slot.starts_at, note="异响"
    )
    assert appointment.source == Appointment.Source.ONLINE and appointment.notes == "异响"
    customer, vehicle = appointment.customer, appointment.vehicle
    assert not customer.verified and customer.verification_note.startswith("在线预约")
    assert not vehicle.verified and vehicle.vin.startswith("Q") and len(vehicle.vin) == 17
    assert vehicle.owner == customer and vehicle.plate == PLATE
    assert "/book/m/" in link
    confirmation = Message.objects.get(purpose="booking_confirmed")
    assert confirmation.customer == customer and PLATE in confirmation.body
    assert ManageLink.objects.filter(appointment=appointment).count() == 2  # message + page


def test_a_known_number_and_plate_book_on_the_existing_records(open_shop):
    vehicle = VehicleFactory(plate="沪A12345")
    verified = services.Verified(phone=vehicle.owner.phone, plate=PLATE)
    appointment, _link = services.online_booking_create(
        verified=verified, service_type="maintenance", scheduled_at=a_free_slot().starts_at
    )
    assert appointment.customer == vehicle.owner and appointment.vehicle == vehicle
    assert Customer.objects.count() == 1 and Vehicle.objects.count() == 1


def test_a_full_slot_writes_nothing_not_even_the_new_customer(open_shop):
    slot = a_free_slot()
    for _n in range(3):
        AppointmentFactory(scheduled_at=slot.starts_at)
    customers, vehicles = Customer.objects.count(), Vehicle.objects.count()
    with pytest.raises(SlotFull) as refused:
        services.online_booking_create(
            verified=services.Verified(phone="+8613800138000", plate=PLATE),
            service_type="maintenance",
            scheduled_at=slot.starts_at,
        )
    assert refused.value.next_free
    assert (Customer.objects.count(), Vehicle.objects.count()) == (customers, vehicles)
    assert Appointment.objects.count() == 3 and not ManageLink.objects.exists()


def test_a_slot_in_the_past_is_refused(open_shop):
    with pytest.raises(ValidationError) as refused:
        services.online_booking_create(
            verified=services.Verified(phone="+8613800138000", plate=PLATE),
            service_type="maintenance",
            scheduled_at=timezone.now() - timedelta(hours=1),
        )
    assert "scheduled_at" in refused.value.message_dict
    assert not Customer.objects.exists()


def test_reschedule_and_cancel_through_the_manage_link(open_shop):
    vehicle = VehicleFactory()
    appointment, link = services.online_booking_create(
        verified=services.Verified(phone=vehicle.owner.phone, plate=vehicle.plate),
        service_type="maintenance",
        scheduled_at=a_free_slot().starts_at,
    )
    state, found = services.appointment_for_token(link.rstrip("/").rsplit("/", 1)[1])
    assert state == "ok" and found == appointment
    moved = services.online_booking_reschedule(
        appointment=appointment, scheduled_at=a_free_slot(day_offset=2).starts_at
    )
    assert moved.scheduled_at == a_free_slot(day_offset=2).starts_at
    assert Message.objects.filter(purpose="booking_confirmed").count() == 2  # the new time
    with pytest.raises(ValidationError):
        services.online_booking_cancel(appointment=moved, reason="shop")  # not the customer's
    cancelled = services.online_booking_cancel(appointment=moved, reason="not_needed")
    assert cancelled.status == Appointment.Status.CANCELLED


def test_the_manage_link_expires_after_the_appointment_day(open_shop):
    appointment = AppointmentFactory(scheduled_at=a_free_slot().starts_at)
    token = services.manage_link_create(appointment=appointment).rstrip("/").rsplit("/", 1)[1]
    after = services.link_expires_at(appointment)
    assert services.appointment_for_token(token, now=after - timedelta(minutes=1))[0] == "ok"
    assert services.appointment_for_token(token, now=after)[0] == "expired"
    assert services.appointment_for_token("guess")[0] == "invalid"


# ---------------------------------------------------------------- the day-before reminder


def test_the_reminder_goes_once_per_appointment_and_slot_to_whom_may_be_contacted(open_shop):
    tomorrow = a_free_slot().starts_at
    reminded = AppointmentFactory(scheduled_at=tomorrow)
    refused = AppointmentFactory(
        scheduled_at=tomorrow, customer=CustomerFactory(service_messages=False)
    )
    AppointmentFactory(scheduled_at=tomorrow, customer=CustomerFactory(do_not_contact=True))
    AppointmentFactory(scheduled_at=tomorrow, source=Appointment.Source.DMS)
    AppointmentFactory(scheduled_at=a_free_slot(day_offset=3).starts_at)
    assert services.booking_reminder_create_due() == 1
    assert services.booking_reminder_create_due() == 0  # a second beat: nothing new
    message = Message.objects.get(purpose="booking_reminder")
    assert message.customer == reminded.customer and "/book/m/" in message.body
    assert message.object_key.startswith(f"appointment:{reminded.pk}:")
    assert refused.customer.messages.count() == 0


def test_the_code_goes_out_in_quiet_hours_and_the_confirmation_waits():
    from datetime import time

    from messaging.services import message_send_due
    from shopcalendar.rules import at

    LocmemBackend.outbox.clear()
    request_code()
    confirmation = AppointmentFactory()
    services.booking_message_create(event="booking_confirmed", appointment=confirmation)
    night = at(timezone.localdate() + timedelta(days=1), time(3))
    assert message_send_due(now=night) == 1
    assert [m.purpose for m in LocmemBackend.outbox] == ["booking_code"]
    waiting = Message.objects.get(purpose="booking_confirmed")
    assert waiting.status == Message.Status.QUEUED and waiting.next_attempt_at > night


def test_erasure_scrubs_the_numbers_codes_even_those_asked_before_it_was_a_customer(manager):
    from privacy.services import customer_erase

    before = request_code()  # the number was nobody's yet
    customer = CustomerFactory(phone="+8613800138000")
    after = request_code(now=timezone.now() + timedelta(minutes=2))
    other = request_code(phone="13900001111")
    assert after.customer == customer and before.customer is None
    customer_erase(customer=customer, by=manager)
    for row in (before, after):
        row.refresh_from_db()
        assert "13800138000" not in row.phone and row.plate == ""
    other.refresh_from_db()
    assert other.phone == "+8613900001111"
