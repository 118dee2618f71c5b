"""The concurrency proof: however many people book one slot at once (the booking page, the
agents, the desk), the slot never takes more cars than its capacity. Each thread has its own
database connection; the test is transactional so that their commits are real."""

import threading
from datetime import time, timedelta

import pytest
from django.db import connection

from bookings import services
from shopcalendar.rules import at
from tests.factories import VehicleFactory
from visits.models import Appointment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CALLERS = 20


def book_at_once(when, service_types, now):
    vehicles = [VehicleFactory() for _ in service_types]
    barrier = threading.Barrier(len(service_types))
    booked, full, errors = [], [], []

    def book(vehicle, service_type, source):
        try:
            barrier.wait()
            booked.append(
                services.appointment_book(
                    customer=vehicle.owner,
                    vehicle=vehicle,
                    scheduled_at=when,
                    service_type=service_type,
                    source=source,
                    now=now,
                )
            )
        except services.SlotFull as refusal:
            full.append(refusal)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    sources = list(Appointment.Source.values)
    threads = [
        threading.Thread(target=book, args=(vehicle, kind, sources[n % 3]))
        for n, (vehicle, kind) in enumerate(zip(vehicles, service_types, strict=True))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    return booked, full


def test_twenty_at_once_for_a_slot_of_three_exactly_three_succeed(shop):
    nine = at(shop["monday"], time(9))
    booked, full = book_at_once(nine, ["maintenance"] * CALLERS, shop["now"])
    assert (len(booked), len(full)) == (3, 17)
    assert Appointment.objects.filter(scheduled_at=nine).count() == 3
    for refusal in full:
        assert refusal.code == "slot_full"
        assert [slot.starts_at for slot in refusal.next_free] == [
            at(shop["monday"], time(10)),
            at(shop["monday"], time(11)),
            at(shop["monday"] + timedelta(days=1), time(9)),
        ]


def test_twenty_repairs_at_once_for_a_repair_limit_of_two_exactly_two_succeed(shop):
    nine = at(shop["monday"], time(9))
    booked, full = book_at_once(nine, ["repair"] * CALLERS, shop["now"])
    assert (len(booked), len(full)) == (2, 18)
    assert Appointment.objects.filter(scheduled_at=nine, service_type="repair").count() == 2
    assert all(refusal.next_free[0].starts_at == at(shop["monday"], time(10)) for refusal in full)


def test_mixed_service_types_at_once_keep_both_limits(shop):
    nine = at(shop["monday"], time(9))
    booked, full = book_at_once(nine, ["repair", "maintenance"] * (CALLERS // 2), shop["now"])
    rows = Appointment.objects.filter(scheduled_at=nine)
    assert len(booked) == rows.count() == 3
    assert rows.filter(service_type="repair").count() <= 2
    assert len(full) == CALLERS - 3
