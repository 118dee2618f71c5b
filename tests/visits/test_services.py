"""Visit and appointment services against PostgreSQL: check-in, the state machine,
delivery and its event, and the no-show sweep."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from customers.models import Customer, Vehicle
from shopcrm.errors import DomainError, DuplicateFound
from tests.factories import (
    AppointmentFactory,
    VehicleFactory,
    VisitFactory,
    valid_vin,
)
from visits import rules, services
from visits.events import visit_delivered
from visits.models import Appointment, Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
S = Visit.Status


def check_in(vehicle, advisor, **overrides):
    fields = {
        "customer": vehicle.owner,
        "vehicle": vehicle,
        "advisor": advisor,
        "service_type": "maintenance",
        "promised_at": timezone.now() + timedelta(hours=3),
    }
    fields.update(overrides)
    return services.visit_check_in(**fields)


def test_check_in_numbers_the_visit_and_updates_the_odometer(advisor):
    vehicle = VehicleFactory(odometer_km=10000)
    visit = check_in(
        vehicle, advisor, odometer_km=15000, concern="保养", estimated_amount=Decimal("680")
    )
    today = timezone.localdate()
    assert visit.ro_number == f"RO{today:%Y%m%d}0001"
    assert check_in(VehicleFactory(), advisor).ro_number == f"RO{today:%Y%m%d}0002"
    vehicle.refresh_from_db()
    assert vehicle.odometer_km == 15000
    assert visit.status == S.CHECKED_IN and visit.advisor == advisor
    assert visit.history.get().history_user == advisor


@pytest.mark.django_db(transaction=True)
def test_ro_numbers_stay_unique_under_concurrent_check_ins(advisor):
    vehicles = [VehicleFactory() for _ in range(8)]
    numbers, errors = [], []

    def worker(vehicle):
        try:
            numbers.append(check_in(vehicle, advisor).ro_number)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(v,)) for v in vehicles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(numbers)) == 8


def test_lower_odometer_needs_confirmation_which_is_recorded(advisor):
    vehicle = VehicleFactory(odometer_km=30000)
    with pytest.raises(ValidationError) as info:
        check_in(vehicle, advisor, odometer_km=29000)
    assert "低于上次记录" in info.value.message_dict["odometer_km"][0]
    assert Visit.objects.count() == 0
    visit = check_in(vehicle, advisor, odometer_km=29000, confirm_lower_odometer=True)
    assert visit.odometer_lower_confirmed
    vehicle.refresh_from_db()
    assert vehicle.odometer_km == 30000  # the highest reading stays the last known one


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"promised_at": None}, "promised_at"),
        ({"promised_at": timezone.now() - timedelta(hours=1)}, "promised_at"),
        ({"odometer_km": -5}, "odometer_km"),
        ({"estimated_amount": Decimal("-1")}, "estimated_amount"),
    ],
)
def test_check_in_bad_input_is_refused_and_writes_nothing(advisor, overrides, field):
    vehicle = VehicleFactory()
    with pytest.raises(ValidationError) as info:
        check_in(vehicle, advisor, **overrides)
    assert field in info.value.message_dict
    assert Visit.objects.count() == 0


def test_a_car_in_the_workshop_cannot_be_checked_in_twice(advisor):
    vehicle = VehicleFactory()
    first = check_in(vehicle, advisor)
    with pytest.raises(DomainError) as info:
        check_in(vehicle, advisor)
    assert first.ro_number in str(info.value.message)


def test_arrival_turns_the_appointment_into_the_visit(advisor):
    appointment = AppointmentFactory(service_type="repair")
    visit = check_in(appointment.vehicle, advisor, appointment=appointment)
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.ARRIVED
    assert visit.appointment == appointment and visit.by_appointment
    with pytest.raises(DomainError):
        check_in(VehicleFactory(), advisor, appointment=appointment)


def test_desk_check_in_creates_customer_vehicle_and_visit_in_one_go(advisor):
    visit = services.visit_check_in_at_desk(
        advisor=advisor,
        new_customer={"name": "赵敏", "phone": "13700000000"},
        new_vehicle={"vin": valid_vin(11), "plate": "粤B1A2B3"},
        service_type="repair",
        promised_at=timezone.now() + timedelta(hours=4),
    )
    assert visit.customer.name == "赵敏" and visit.vehicle.plate == "粤B1A2B3"
    assert visit.vehicle.owner == visit.customer


@pytest.mark.parametrize(
    ("new_customer", "new_vehicle", "visit_fields"),
    [
        ({"name": "赵敏", "phone": "123"}, {"vin": valid_vin(12)}, {}),
        ({"name": "赵敏", "phone": "13700000000"}, {"vin": "LSV12345678901234"}, {}),
        ({"name": "赵敏", "phone": "13700000000"}, {"vin": valid_vin(13), "plate": "粤12345"}, {}),
        ({"name": "赵敏", "phone": "13700000000"}, {"vin": valid_vin(14)}, {"promised_at": None}),
    ],
)
def test_desk_check_in_with_any_bad_part_writes_nothing_at_all(
    advisor, new_customer, new_vehicle, visit_fields
):
    fields = {
        "service_type": "repair",
        "promised_at": timezone.now() + timedelta(hours=4),
        **visit_fields,
    }
    with pytest.raises(ValidationError):
        services.visit_check_in_at_desk(
            advisor=advisor, new_customer=new_customer, new_vehicle=new_vehicle, **fields
        )
    assert (Customer.objects.count(), Vehicle.objects.count(), Visit.objects.count()) == (0, 0, 0)


def test_desk_check_in_with_a_known_vin_offers_the_vehicle_and_writes_nothing(advisor):
    existing = VehicleFactory()
    with pytest.raises(DuplicateFound) as info:
        services.visit_check_in_at_desk(
            advisor=advisor,
            new_customer={"name": "赵敏", "phone": "13700000000"},
            new_vehicle={"vin": existing.vin},
            service_type="repair",
            promised_at=timezone.now() + timedelta(hours=4),
        )
    assert info.value.existing == existing
    assert Customer.objects.count() == 1  # only the existing vehicle's owner


# ---------------------------------------------------------------- the state machine

FORWARD = [S.IN_PROGRESS, S.QUALITY_CHECK, S.READY]


def test_the_whole_way_through_the_workshop(advisor):
    visit = VisitFactory(advisor=advisor)
    for status in FORWARD:
        visit = services.visit_transition(visit=visit, to_status=status, by=advisor)
        assert visit.status == status
    visit = services.visit_deliver(
        visit=visit, labour_amount=Decimal("300"), parts_amount=Decimal("450.50"), by=advisor
    )
    assert visit.status == S.DELIVERED
    assert visit.total_amount == Decimal("750.50")
    assert visit.delivered_at is not None
    statuses = [record.status for record in visit.history.order_by("history_date")]
    assert statuses == [S.CHECKED_IN, *FORWARD, S.DELIVERED]


def test_failed_quality_check_goes_back_to_the_bay(advisor):
    visit = VisitFactory(status=S.QUALITY_CHECK)
    assert (
        services.visit_transition(visit=visit, to_status=S.IN_PROGRESS, by=advisor).status
        == S.IN_PROGRESS
    )


ALL = [s.value for s in S]


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("target", ALL)
def test_every_illegal_transition_is_refused_with_a_message(advisor, current, target):
    legal = target in rules.TRANSITIONS[current]
    if legal or target in (S.DELIVERED, S.CANCELLED):
        return  # legal steps are tested above; delivery and cancellation have their own services
    visit = VisitFactory(
        status=current, delivered_at=timezone.now() if current == S.DELIVERED else None
    )
    with pytest.raises(DomainError) as info:
        services.visit_transition(visit=visit, to_status=target, by=advisor)
    assert info.value.code == "illegal_transition"
    assert "不能变更为" in str(info.value.message)
    visit.refresh_from_db()
    assert visit.status == current


def test_unknown_status_is_refused(advisor):
    visit = VisitFactory()
    with pytest.raises(DomainError):
        services.visit_transition(visit=visit, to_status="flying", by=advisor)


@pytest.mark.parametrize("current", [S.CHECKED_IN, S.IN_PROGRESS, S.QUALITY_CHECK, S.CANCELLED])
def test_only_a_ready_car_can_be_delivered(advisor, current):
    visit = VisitFactory(status=current)
    with pytest.raises(DomainError):
        services.visit_deliver(
            visit=visit, labour_amount=Decimal(1), parts_amount=Decimal(1), by=advisor
        )
    visit.refresh_from_db()
    assert visit.status == current and visit.delivered_at is None


def test_delivering_twice_is_refused(advisor):
    visit = VisitFactory(status=S.READY)
    services.visit_deliver(
        visit=visit, labour_amount=Decimal(1), parts_amount=Decimal(1), by=advisor
    )
    with pytest.raises(DomainError):
        services.visit_deliver(
            visit=visit, labour_amount=Decimal(1), parts_amount=Decimal(1), by=advisor
        )


@pytest.mark.parametrize(
    ("amounts", "field"),
    [
        ({"labour_amount": None, "parts_amount": Decimal(1)}, "labour_amount"),
        ({"labour_amount": Decimal(1), "parts_amount": Decimal(-1)}, "parts_amount"),
        (
            {"labour_amount": Decimal(1), "parts_amount": Decimal(1), "total_amount": Decimal(-5)},
            "total_amount",
        ),
    ],
)
def test_delivery_needs_sane_amounts(advisor, amounts, field):
    visit = VisitFactory(status=S.READY)
    with pytest.raises(ValidationError) as info:
        services.visit_deliver(visit=visit, by=advisor, **amounts)
    assert field in info.value.message_dict
    visit.refresh_from_db()
    assert visit.status == S.READY


def test_total_may_differ_from_the_sum_for_a_discount(advisor):
    visit = VisitFactory(status=S.READY)
    visit = services.visit_deliver(
        visit=visit,
        labour_amount=Decimal(500),
        parts_amount=Decimal(500),
        total_amount=Decimal(900),
        by=advisor,
    )
    assert visit.total_amount == Decimal(900)


def test_cancel_needs_a_reason_and_ends_the_visit(advisor):
    visit = VisitFactory(status=S.IN_PROGRESS)
    with pytest.raises(ValidationError):
        services.visit_cancel(visit=visit, reason=" ", by=advisor)
    visit = services.visit_cancel(visit=visit, reason="客户取消", by=advisor)
    assert visit.status == S.CANCELLED
    with pytest.raises(DomainError):
        services.visit_cancel(visit=visit, reason="again", by=advisor)


# ---------------------------------------------------------------- the delivered event


@pytest.fixture
def delivered_events():
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    visit_delivered.connect(receiver, dispatch_uid="test-receiver")
    yield received
    visit_delivered.disconnect(dispatch_uid="test-receiver")


def test_delivery_emits_the_event_only_after_commit(
    advisor, delivered_events, django_capture_on_commit_callbacks
):
    visit = VisitFactory(status=S.READY)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.visit_deliver(
            visit=visit, labour_amount=Decimal(1), parts_amount=Decimal(1), by=advisor
        )
    assert delivered_events == []  # nothing before the transaction commits
    assert len(callbacks) == 1
    callbacks[0]()
    assert delivered_events == [
        {"visit_id": visit.pk, "source": "browser", "signal": visit_delivered}
    ]


def test_a_rolled_back_delivery_emits_nothing(
    advisor, delivered_events, django_capture_on_commit_callbacks
):
    visit = VisitFactory(status=S.READY)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        services.visit_deliver(
            visit=visit, labour_amount=Decimal(-1), parts_amount=Decimal(1), by=advisor
        )
    assert delivered_events == []


def test_the_event_is_logged(advisor, caplog, django_capture_on_commit_callbacks):
    visit = VisitFactory(status=S.READY)
    with (
        caplog.at_level("INFO", logger="shopcrm.events"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.visit_deliver(
            visit=visit, labour_amount=Decimal(1), parts_amount=Decimal(1), by=advisor
        )
    assert f"visit delivered: visit_id={visit.pk}" in caplog.text


# ---------------------------------------------------------------- the no-show sweep


def test_no_show_sweep_twice_changes_nothing_the_second_time():
    now = timezone.now()
    late = AppointmentFactory(scheduled_at=now - timedelta(hours=3))
    within_grace = AppointmentFactory(scheduled_at=now - timedelta(hours=1))
    future = AppointmentFactory(scheduled_at=now + timedelta(hours=1))
    arrived = AppointmentFactory(
        scheduled_at=now - timedelta(hours=5), status=Appointment.Status.ARRIVED
    )

    assert services.appointment_mark_no_shows(now=now) == 1
    first = {a.pk: (a.status, a.updated_at) for a in Appointment.objects.all()}
    assert services.appointment_mark_no_shows(now=now) == 0
    second = {a.pk: (a.status, a.updated_at) for a in Appointment.objects.all()}
    assert first == second
    assert first[late.pk][0] == Appointment.Status.NO_SHOW
    assert {first[a.pk][0] for a in (within_grace, future)} == {Appointment.Status.BOOKED}
    assert first[arrived.pk][0] == Appointment.Status.ARRIVED


def test_no_show_task_runs_the_sweep():
    from visits.tasks import sweep_no_show_appointments

    AppointmentFactory(scheduled_at=timezone.now() - timedelta(hours=3))
    assert sweep_no_show_appointments.apply().get() == 1
    assert sweep_no_show_appointments.apply().get() == 0
