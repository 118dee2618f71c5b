from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError

from bookings import selectors, services
from bookings.models import BookingCapacity
from shopcalendar.models import Holiday
from shopcalendar.rules import at
from tests.factories import AppointmentFactory, VehicleFactory
from visits.models import Appointment

pytestmark = pytest.mark.django_db
SOURCE = Appointment.Source.DESK


def book(when, *, service_type="maintenance", now=None, vehicle=None):
    vehicle = vehicle or VehicleFactory()
    return services.appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        scheduled_at=when,
        service_type=service_type,
        source=SOURCE,
        now=now,
    )


def test_a_fresh_shop_takes_bookings_with_the_default_capacity():
    capacity = BookingCapacity.current()
    assert (capacity.slot_minutes, capacity.cars_per_slot, capacity.lead_minutes) == (60, 3, 120)


def test_free_slots_lists_open_days_only_full_ones_included(shop):
    monday = shop["monday"]
    Holiday.objects.create(day=monday + timedelta(days=1), name="店休")
    AppointmentFactory.create_batch(3, scheduled_at=at(monday, time(10)))
    slots = selectors.free_slots(service_type="maintenance", start=monday, days=7, now=shop["now"])
    days = sorted({s.starts_at.date() for s in slots})
    # Tuesday is a holiday, Sunday is not a booking day: Mon, Wed, Thu, Fri, Sat.
    assert [d.isoweekday() for d in days] == [1, 3, 4, 5, 6]
    assert len(slots) == 5 * 3
    ten = next(s for s in slots if s.starts_at == at(monday, time(10)))
    assert (ten.capacity, ten.booked, ten.free) == (3, 3, 0)
    nine = slots[0]
    assert (nine.starts_at, nine.ends_at, nine.free) == (
        at(monday, time(9)),
        at(monday, time(10)),
        3,
    )


def test_free_slots_starts_after_the_lead_time(shop):
    monday = shop["monday"]
    slots = selectors.free_slots(
        service_type="maintenance", start=monday, days=1, now=at(monday, time(8, 30))
    )
    assert [s.starts_at for s in slots] == [at(monday, time(11))]


def test_cancelled_and_no_show_do_not_count_arrived_and_misaligned_do(shop):
    monday = shop["monday"]
    AppointmentFactory(scheduled_at=at(monday, time(9)), status="cancelled")
    AppointmentFactory(scheduled_at=at(monday, time(9)), status="no_show")
    AppointmentFactory(scheduled_at=at(monday, time(9)), status="arrived")
    AppointmentFactory(scheduled_at=at(monday, time(9, 40)))  # a DMS time inside the slot
    nine = selectors.free_slots(service_type="maintenance", start=monday, days=1, now=shop["now"])[
        0
    ]
    assert (nine.booked, nine.free) == (2, 1)


def test_the_service_type_limit_binds_below_the_overall_one(shop):
    monday = shop["monday"]
    AppointmentFactory.create_batch(2, scheduled_at=at(monday, time(9)), service_type="repair")
    repair, maintenance = (
        selectors.free_slots(service_type=kind, start=monday, days=1, now=shop["now"])[0]
        for kind in ("repair", "maintenance")
    )
    assert (repair.capacity, repair.booked, repair.free) == (2, 2, 0)
    assert (maintenance.capacity, maintenance.booked, maintenance.free) == (3, 2, 1)


def test_an_overbooked_slot_shows_free_zero_never_negative(shop):
    monday = shop["monday"]
    AppointmentFactory.create_batch(5, scheduled_at=at(monday, time(9)))
    nine = selectors.free_slots(service_type="maintenance", start=monday, days=1, now=shop["now"])[
        0
    ]
    assert (nine.booked, nine.free) == (5, 0)


def test_next_free_slots_skips_full_ones(shop):
    monday = shop["monday"]
    AppointmentFactory.create_batch(3, scheduled_at=at(monday, time(10)))
    slots = selectors.next_free_slots(
        service_type="maintenance", after=at(monday, time(9)), limit=3, now=shop["now"]
    )
    assert [s.starts_at for s in slots] == [
        at(monday, time(11)),
        at(monday + timedelta(days=1), time(9)),
        at(monday + timedelta(days=1), time(10)),
    ]


def test_book_writes_the_appointment_with_its_source(shop, advisor):
    vehicle = VehicleFactory()
    appointment = services.appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        scheduled_at=at(shop["monday"], time(9)),
        service_type="repair",
        source=Appointment.Source.PHONE,
        advisor=advisor,
        notes="异响",
        by=advisor,
        now=shop["now"],
    )
    appointment.refresh_from_db()
    assert (appointment.source, appointment.status, appointment.notes) == (
        "phone",
        "booked",
        "异响",
    )
    assert appointment.history.first().history_user == advisor


def test_a_full_slot_refuses_with_the_next_free_slots(shop):
    nine = at(shop["monday"], time(9))
    for _ in range(3):
        book(nine, now=shop["now"])
    with pytest.raises(services.SlotFull) as caught:
        book(nine, now=shop["now"])
    assert caught.value.code == "slot_full"
    assert [s.starts_at for s in caught.value.next_free] == [
        at(shop["monday"], time(10)),
        at(shop["monday"], time(11)),
        at(shop["monday"] + timedelta(days=1), time(9)),
    ]
    assert "已约满" in caught.value.message and "10:00" in caught.value.message
    assert Appointment.objects.count() == 3


def test_the_service_type_limit_refuses_the_third_repair_but_not_maintenance(shop):
    nine = at(shop["monday"], time(9))
    book(nine, service_type="repair", now=shop["now"])
    book(nine, service_type="repair", now=shop["now"])
    with pytest.raises(services.SlotFull):
        book(nine, service_type="repair", now=shop["now"])
    book(nine, service_type="maintenance", now=shop["now"])
    assert Appointment.objects.count() == 3


@pytest.mark.parametrize(
    "when, expected",
    [
        (lambda monday: at(monday - timedelta(days=4), time(9)), "已过"),
        (lambda monday: at(monday - timedelta(days=3), time(13)), "提前 120 分钟"),
        (lambda monday: at(monday, time(9, 30)), "开始时间"),
        (lambda monday: at(monday, time(12)), "开始时间"),
        (lambda monday: at(monday, time(7)), "开始时间"),
        (lambda monday: at(monday - timedelta(days=1), time(9)), "休息"),  # Sunday
        (lambda monday: at(monday + timedelta(days=1), time(9)), "休息"),  # the holiday
        (lambda monday: at(monday + timedelta(days=90), time(9)), "60 天之内"),
        (lambda monday: None, "请选择预约时段"),
    ],
)
def test_bad_times_are_refused_on_the_field_with_nothing_written(shop, when, expected):
    Holiday.objects.create(day=shop["monday"] + timedelta(days=1), name="店休")
    with pytest.raises(ValidationError) as caught:
        book(when(shop["monday"]), now=shop["now"])
    assert expected in " ".join(caught.value.message_dict["scheduled_at"])
    assert not Appointment.objects.exists()


def test_bad_service_type_and_source_are_refused(shop):
    vehicle = VehicleFactory()
    nine = at(shop["monday"], time(9))
    with pytest.raises(ValidationError) as caught:
        book(nine, service_type="tyres", now=shop["now"])
    assert "service_type" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.appointment_book(
            customer=vehicle.owner,
            vehicle=vehicle,
            scheduled_at=nine,
            service_type="maintenance",
            source="fax",
            now=shop["now"],
        )
    assert "source" in caught.value.message_dict
    assert not Appointment.objects.exists()


def test_reschedule_moves_and_frees_the_old_slot(shop):
    nine, ten = at(shop["monday"], time(9)), at(shop["monday"], time(10))
    moving = book(nine, now=shop["now"])
    book(nine, now=shop["now"])
    book(nine, now=shop["now"])
    services.appointment_reschedule(appointment=moving, scheduled_at=ten, now=shop["now"])
    moving.refresh_from_db()
    assert moving.scheduled_at == ten
    book(nine, now=shop["now"])  # the freed place
    assert Appointment.objects.filter(scheduled_at=nine).count() == 3


def test_reschedule_within_its_own_full_slot_is_allowed_and_into_a_full_one_refused(shop):
    nine, ten = at(shop["monday"], time(9)), at(shop["monday"], time(10))
    moving = book(nine, now=shop["now"])
    for _ in range(3):
        book(ten, now=shop["now"])
    book(nine, now=shop["now"])
    book(nine, now=shop["now"])
    services.appointment_reschedule(appointment=moving, scheduled_at=nine, now=shop["now"])
    with pytest.raises(services.SlotFull):
        services.appointment_reschedule(appointment=moving, scheduled_at=ten, now=shop["now"])
    moving.refresh_from_db()
    assert moving.scheduled_at == nine


def test_reschedule_refuses_bad_times_and_cancelled_appointments(shop):
    nine = at(shop["monday"], time(9))
    moving = book(nine, now=shop["now"])
    with pytest.raises(ValidationError):
        services.appointment_reschedule(
            appointment=moving, scheduled_at=at(shop["monday"], time(9, 15)), now=shop["now"]
        )
    Appointment.objects.filter(pk=moving.pk).update(status="cancelled")
    with pytest.raises(services.DomainError) as caught:
        services.appointment_reschedule(
            appointment=moving, scheduled_at=at(shop["monday"], time(10)), now=shop["now"]
        )
    assert caught.value.code == "appointment_not_booked"
    moving.refresh_from_db()
    assert moving.scheduled_at == nine


def test_upcoming_appointment_is_the_next_booked_one(shop):
    vehicle = VehicleFactory()
    later = AppointmentFactory(vehicle=vehicle, scheduled_at=at(shop["monday"], time(11)))
    AppointmentFactory(
        vehicle=vehicle, scheduled_at=at(shop["monday"], time(9)), status="cancelled"
    )
    assert selectors.upcoming_appointment(vehicle.owner) == later
