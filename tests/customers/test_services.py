"""Customer and vehicle services against PostgreSQL."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from customers import services
from customers.models import Customer, CustomerMerge, PhoneReveal, Vehicle
from shopcrm.errors import DomainError, DuplicateFound
from tests.factories import (
    AppointmentFactory,
    CustomerFactory,
    VehicleFactory,
    VisitFactory,
    valid_vin,
    wrong_check_digit,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_create_normalises_phone_and_records_who(advisor):
    customer = services.customer_create(name=" 张伟 ", phone="138 1234 5678", by=advisor)
    assert customer.name == "张伟"
    assert customer.phone == "+8613812345678"
    record = customer.history.get()
    assert record.history_user == advisor
    assert record.history_type == "+"


def test_consent_is_recorded_with_time_and_source(advisor):
    customer = services.customer_create(
        name="王芳", phone="13900000001", marketing_consent=True, consent_source="desk", by=advisor
    )
    assert customer.marketing_consent_at is not None
    assert customer.marketing_consent_source == "desk"


def test_existing_phone_is_offered_not_duplicated(advisor):
    first = services.customer_create(name="张伟", phone="13812345678", by=advisor)
    with pytest.raises(DuplicateFound) as info:
        services.customer_create(name="张伟伟", phone="+86 138-1234-5678", by=advisor)
    assert info.value.existing == first
    assert info.value.field == "phone"
    assert Customer.objects.count() == 1


def test_bad_input_gives_field_errors_and_writes_nothing(advisor):
    with pytest.raises(ValidationError) as info:
        services.customer_create(name="", phone="12345", by=advisor)
    assert set(info.value.message_dict) == {"name", "phone"}
    assert Customer.objects.count() == 0


def test_the_database_refuses_a_second_live_customer_with_the_same_phone():
    CustomerFactory(phone="+8613812345678")
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(phone="+8613812345678")


def test_reveal_is_recorded(advisor):
    customer = CustomerFactory()
    assert (
        services.customer_reveal_phone(customer=customer, user=advisor, context="test")
        == customer.phone
    )
    reveal = PhoneReveal.objects.get()
    assert (reveal.user, reveal.customer, reveal.context) == (advisor, customer, "test")


# ---------------------------------------------------------------- vehicles


def test_vehicle_create_normalises_vin_and_plate(advisor):
    owner = CustomerFactory()
    vin = valid_vin(1)
    vehicle = services.vehicle_create(owner=owner, vin=vin.lower(), plate="粤b·d12345", by=advisor)
    assert (vehicle.vin, vehicle.plate) == (vin, "粤BD12345")
    assert not vehicle.vin_check_override


def test_the_desk_and_the_dms_share_the_vehicles_bounds(advisor):
    """Model year 1950 to next year, a registration not in the future: the same at the
    desk (this service) and in the DMS sync (customers.validators, one place)."""
    from datetime import timedelta

    from django.utils import timezone

    from customers.sync import VEHICLE_RECORD

    owner, today = CustomerFactory(), timezone.localdate()
    for n, (year, registered) in enumerate(
        [(1949, None), (today.year + 2, None), (2020, today + timedelta(days=1))]
    ):
        with pytest.raises(ValidationError) as info:
            services.vehicle_create(
                owner=owner,
                vin=valid_vin(40 + n),
                model_year=year,
                registration_date=registered,
                by=advisor,
            )
        [record] = VEHICLE_RECORD.parse(
            [
                {
                    "external_id": "V1",
                    "customer_external_id": "C1",
                    "vin": valid_vin(40 + n),
                    "model_year": year,
                    "registration_date": registered.isoformat() if registered else None,
                }
            ]
        )
        assert set(record.errors) == set(info.value.message_dict), (year, registered)
    assert Vehicle.objects.count() == 0
    vehicle = services.vehicle_create(
        owner=owner,
        vin=valid_vin(43),
        model_year=today.year + 1,
        registration_date=today,
        by=advisor,
    )
    assert vehicle.model_year == today.year + 1


def test_wrong_check_digit_is_refused_without_override(advisor):
    owner = CustomerFactory()
    with pytest.raises(ValidationError) as info:
        services.vehicle_create(owner=owner, vin=wrong_check_digit(valid_vin(2)), by=advisor)
    assert "校验位" in info.value.message_dict["vin"][0]
    assert Vehicle.objects.count() == 0


def test_check_digit_override_is_recorded_with_who_and_when(advisor):
    owner = CustomerFactory()
    vin = wrong_check_digit(valid_vin(3))
    vehicle = services.vehicle_create(owner=owner, vin=vin, vin_check_override=True, by=advisor)
    assert vehicle.vin_check_override
    assert vehicle.vin_override_by == advisor
    assert vehicle.vin_override_at is not None
    assert vehicle.history.get().history_change_reason == "VIN check digit override"


def test_override_on_a_correct_vin_records_nothing(advisor):
    vehicle = services.vehicle_create(
        owner=CustomerFactory(), vin=valid_vin(4), vin_check_override=True, by=advisor
    )
    assert not vehicle.vin_check_override and vehicle.vin_override_by is None


def test_existing_vin_or_plate_is_offered(advisor):
    existing = VehicleFactory(plate="京A12345")
    with pytest.raises(DuplicateFound) as info:
        services.vehicle_create(owner=CustomerFactory(), vin=existing.vin, by=advisor)
    assert (info.value.existing, info.value.field) == (existing, "vin")
    with pytest.raises(DuplicateFound) as info:
        services.vehicle_create(
            owner=CustomerFactory(), vin=valid_vin(5), plate="京a 12345", by=advisor
        )
    assert (info.value.existing, info.value.field) == (existing, "plate")
    assert Vehicle.objects.count() == 1


def test_a_plate_is_free_again_once_its_vehicle_is_no_longer_current(advisor):
    old = VehicleFactory(plate="京A12345")
    old.is_active = False
    old.save()
    vehicle = services.vehicle_create(
        owner=CustomerFactory(), vin=valid_vin(6), plate="京A12345", by=advisor
    )
    assert vehicle.plate == "京A12345"


def test_odometer_keeps_the_highest_reading(advisor):
    vehicle = VehicleFactory(odometer_km=20000)
    services.vehicle_record_odometer(vehicle=vehicle, odometer_km=15000, by=advisor)
    vehicle.refresh_from_db()
    assert vehicle.odometer_km == 20000
    services.vehicle_record_odometer(vehicle=vehicle, odometer_km=25000, by=advisor)
    vehicle.refresh_from_db()
    assert vehicle.odometer_km == 25000


# ---------------------------------------------------------------- merge


def test_merge_moves_every_record_and_is_recorded(manager):
    target = CustomerFactory(name="张伟")
    source = CustomerFactory(name="张伟(重复)", email="zw@example.com", do_not_contact=True)
    vehicle = VehicleFactory(owner=source)
    visit = VisitFactory(vehicle=vehicle, customer=source)
    appointment = AppointmentFactory(vehicle=vehicle, customer=source)
    services.customer_reveal_phone(customer=source, user=manager)

    result = services.customer_merge(source=source, target=target, by=manager)

    for row in (vehicle, visit, appointment):
        row.refresh_from_db()
    assert vehicle.owner == target and visit.customer == target and appointment.customer == target
    assert PhoneReveal.objects.get().customer == target
    source.refresh_from_db()
    target.refresh_from_db()
    assert source.merged_into == target
    assert target.email == "zw@example.com"  # gaps filled from the duplicate
    assert target.do_not_contact  # a refusal is never lost in a merge
    merge = CustomerMerge.objects.get()
    assert merge.merged_by == manager
    assert merge.moved == result.moved
    assert merge.moved["customers.vehicle"] == 1 and merge.moved["visits.visit"] == 1
    assert vehicle.history.first().history_user == manager


def test_merge_frees_the_phone_for_the_live_record(manager):
    target = CustomerFactory()
    source = CustomerFactory(phone="+8613812345678")
    services.customer_merge(source=source, target=target, by=manager)
    # The tombstone keeps its number, but a new live customer may now use it.
    services.customer_create(name="新客户", phone="13812345678", by=manager)


@pytest.mark.parametrize("case", ["self", "merged"])
def test_merge_refusals(manager, case):
    target = CustomerFactory()
    if case == "self":
        with pytest.raises(DomainError):
            services.customer_merge(source=target, target=target, by=manager)
    else:
        source = CustomerFactory()
        services.customer_merge(source=source, target=target, by=manager)
        with pytest.raises(DomainError):
            services.customer_merge(source=source, target=CustomerFactory(), by=manager)
    assert CustomerMerge.objects.count() == (0 if case == "self" else 1)
