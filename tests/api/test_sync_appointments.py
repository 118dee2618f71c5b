"""Issue 18: the DMS's own appointments — POST /api/v1/sync/appointments/ under the batch
rules of API.md, and GET /api/v1/appointments/ (+ {id}/) read-back with its filters."""

from datetime import time, timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from bookings.models import BookingCapacity, ServiceTypeLimit
from shopcalendar import selectors as calendar
from shopcalendar.rules import at
from tests.api.conftest import post
from tests.api.test_sync import history_count, xmins
from tests.factories import AppointmentFactory, UserFactory, VehicleFactory
from visits.models import Appointment

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def vehicles(db):
    """Two DMS vehicles, V1 (owner C1) and V2 (owner C2), and a customer C3 of neither."""
    first = VehicleFactory(external_id="V1", owner__external_id="C1")
    second = VehicleFactory(external_id="V2", owner__external_id="C2")
    from tests.factories import CustomerFactory

    third = CustomerFactory(external_id="C3")
    return first, second, third


SLOT = (timezone.now() + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)


def appointment(n, vehicle_n=1, **extra):
    return {
        "external_id": f"A{n}",
        "vehicle_external_id": f"V{vehicle_n}",
        "scheduled_at": SLOT.isoformat(),
        "service_type": "maintenance",
        **extra,
    }


def test_created_as_dms_rows_the_owner_by_default_then_updated_then_unchanged(dms, vehicles):
    first, _second, third = vehicles
    batch = [appointment(1, note="换机油"), appointment(2, customer_external_id="C3")]
    assert post(dms, "appointments", batch).json() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "errors": [],
        "warnings": [],
    }
    one, two = Appointment.objects.order_by("external_id")
    assert (one.source, one.status, one.notes) == ("dms", "booked", "换机油")
    assert one.customer == first.owner and one.vehicle == first  # the vehicle's owner
    assert two.customer == third  # the one named
    assert one.scheduled_at == SLOT and one.status_changed_at is not None

    batch[0]["status"] = "arrived"
    body = post(dms, "appointments", batch).json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 1, 1)
    assert Appointment.objects.get(external_id="A1").status == "arrived"
    assert Appointment.objects.get(external_id="A1").source == "dms"


def test_an_identical_replay_writes_nothing(dms, vehicles):
    batch = [appointment(1, status="no_show"), appointment(2, vehicle_n=2)]
    post(dms, "appointments", batch)
    before, versions = xmins("visits_appointment"), history_count(Appointment)
    body = post(dms, "appointments", batch).json()
    assert body["unchanged"] == 2 and body["created"] == body["updated"] == 0
    assert xmins("visits_appointment") == before
    assert history_count(Appointment) == versions


def test_an_older_source_updated_at_leaves_the_appointment_unchanged(dms, vehicles):
    newer = (timezone.now() - timedelta(hours=1)).isoformat()
    older = (timezone.now() - timedelta(hours=5)).isoformat()
    post(dms, "appointments", [appointment(1, status="cancelled", source_updated_at=newer)])
    body = post(
        dms, "appointments", [appointment(1, status="booked", source_updated_at=older)]
    ).json()
    assert body["unchanged"] == 1 and body["failed"] == 0
    assert Appointment.objects.get().status == "cancelled"


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"vehicle_external_id": "V404"}, "vehicle_external_id"),
        ({"customer_external_id": "C404"}, "customer_external_id"),
        ({"status": "teleported"}, "status"),
        ({"status": "confirmed"}, "status"),
        ({"service_type": "spa"}, "service_type"),
        ({"scheduled_at": "next tuesday"}, "scheduled_at"),
        ({"scheduled_at": "2026/11/23 09:30"}, "scheduled_at"),
        ({"scheduled_at": "0001-01-01T00:00:00+08:00"}, "scheduled_at"),
        ({"scheduled_at": None}, "scheduled_at"),
        ({"service_type": None}, "service_type"),
        ({"external_id": "  "}, "external_id"),
        ({"note": "长" * 201}, "note"),
        ({"source_updated_at": "yesterday"}, "source_updated_at"),
    ],
)
def test_a_bad_record_is_an_error_for_it_alone(dms, vehicles, extra, field):
    """Each bad record: its index, its field and a message; the good one is written, the bad
    one not at all."""
    body = post(dms, "appointments", [appointment(1), appointment(2, **extra)]).json()
    assert body["created"] == 1 and body["failed"] == 1
    error = body["errors"][0]
    assert error["index"] == 1 and field in error["errors"] and error["errors"][field][0]
    assert list(Appointment.objects.values_list("external_id", flat=True)) == ["A1"]


def test_errors_are_in_english_for_an_english_client(dms, vehicles):
    body = post(
        dms,
        "appointments",
        [appointment(1, status="teleported", vehicle_external_id="V404")],
        HTTP_COOKIE="django_language=en",
    ).json()
    errors = body["errors"][0]["errors"]
    assert errors["status"] == ["Allowed values: booked, arrived, no_show, cancelled."]
    assert errors.get("vehicle_external_id") is None  # a bad status stops the lookup


@pytest.mark.parametrize(
    "batch",
    [
        [],
        {"external_id": "A1"},
        [appointment(1, notes="wrong name")],  # the field is "note"
        [appointment(1, scheduled_at=20261123)],
        [appointment(1, status=True)],
    ],
)
def test_a_malformed_batch_is_a_400_and_writes_nothing(dms, vehicles, batch):
    response = post(dms, "appointments", batch)
    assert response.status_code == 400 and response.json()["detail"]
    assert not Appointment.objects.exists()


def test_the_idempotency_key_returns_the_first_answer(dms, vehicles):
    first = post(dms, "appointments", [appointment(1)], HTTP_IDEMPOTENCY_KEY="k-1")
    Appointment.objects.all().delete()
    again = post(dms, "appointments", [appointment(1)], HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert not Appointment.objects.exists()  # nothing applied a second time
    other = post(dms, "appointments", [appointment(2)], HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 422


@pytest.fixture
def capacity(db):
    """Monday to Sunday 09:00–12:00 in one-hour slots, 3 cars a slot, repair 2."""
    capacity = BookingCapacity.current()
    capacity.days, capacity.opens_at, capacity.closes_at = "1234567", time(9), time(12)
    capacity.slot_minutes, capacity.cars_per_slot = 60, 3
    capacity.save()
    ServiceTypeLimit.objects.update_or_create(service_type="repair", defaults={"cars_per_slot": 2})
    ServiceTypeLimit.objects.filter(service_type="maintenance").delete()
    calendar.clear_cache()
    day = timezone.localdate() + timedelta(days=14)
    while calendar.holidays_between(day, day):
        day += timedelta(days=1)
    return day


def test_capacity_is_reported_not_enforced(dms, vehicles, capacity):
    """The DMS is the source of truth: four cars in a slot of three are all stored, and the
    answer names each one in the slot past its capacity; a cancelled one does not count."""
    for n in range(3, 13):
        VehicleFactory(external_id=f"V{n}")

    def when(hour, minute=0):
        return at(capacity, time(hour, minute)).isoformat()

    batch = [
        appointment(1, vehicle_n=3, scheduled_at=when(10)),
        appointment(2, vehicle_n=4, scheduled_at=when(10, 20)),
        appointment(3, vehicle_n=5, scheduled_at=when(10, 40)),
        appointment(4, vehicle_n=6, scheduled_at=when(10), status="cancelled"),
        appointment(5, vehicle_n=7, scheduled_at=when(10, 59)),
        appointment(6, vehicle_n=8, scheduled_at=when(11), service_type="repair"),
        appointment(7, vehicle_n=9, scheduled_at=when(11), service_type="repair"),
        appointment(8, vehicle_n=10, scheduled_at=when(9), service_type="repair"),
        appointment(9, vehicle_n=11, scheduled_at=when(20)),  # outside the slots
    ]
    body = post(dms, "appointments", batch).json()
    assert body["created"] == 9 and body["failed"] == 0
    assert Appointment.objects.count() == 9
    warned = {w["external_id"]: w for w in body["warnings"]}
    assert sorted(warned) == ["A1", "A2", "A3", "A5"]
    first = warned["A1"]
    assert first["over_capacity"] is True and first["index"] == 0
    assert (first["capacity"], first["booked"]) == (3, 4)
    assert parse_datetime(first["slot_starts_at"]) == at(capacity, time(10))
    assert first["message"]

    # A third repair at 11:00 takes the repair limit of 2 past: the repairs are named.
    body = post(
        dms,
        "appointments",
        [appointment(10, vehicle_n=12, scheduled_at=when(11, 30), service_type="repair")],
    ).json()
    assert body["created"] == 1
    assert [(w["external_id"], w["capacity"], w["booked"]) for w in body["warnings"]] == [
        ("A10", 2, 3)
    ]


def test_a_shop_appointment_keeps_its_source_and_cancel_reason_when_the_dms_updates_it(
    dms, vehicles
):
    first = vehicles[0]
    booked = AppointmentFactory(
        vehicle=first, external_id="A1", source="online", cancel_reason="rescheduled"
    )
    body = post(dms, "appointments", [appointment(1, status="cancelled")]).json()
    assert body["updated"] == 1
    booked.refresh_from_db()
    assert (booked.source, booked.cancel_reason, booked.status) == (
        "online",
        "rescheduled",
        "cancelled",
    )


def test_staff_sessions_may_not_sync(vehicles):
    session = APIClient()
    session.force_login(UserFactory(role="manager", username="mgr-appt"))
    assert post(session, "appointments", [appointment(1)]).status_code == 403
    assert not Appointment.objects.exists()


# ---------------------------------------------------------------- read-back


@pytest.fixture
def booked(vehicles):
    first, second, _third = vehicles
    now = timezone.now()
    rows = {
        "online": AppointmentFactory(vehicle=first, source="online", scheduled_at=now),
        "dms": AppointmentFactory(
            vehicle=second,
            source="dms",
            external_id="A9",
            status="arrived",
            scheduled_at=now - timedelta(days=10),
        ),
        "phone": AppointmentFactory(
            vehicle=second,
            source="phone",
            status="cancelled",
            scheduled_at=now + timedelta(days=10),
        ),
    }
    Appointment.objects.filter(pk=rows["dms"].pk).update(updated_at=now - timedelta(days=3))
    return rows


def test_read_back_each_row_with_its_source(dms, booked):
    body = dms.get("/api/v1/appointments/").json()
    assert set(body) == {"next", "previous", "results"}
    by_source = {row["source"]: row for row in body["results"]}
    assert set(by_source) == {"online", "dms", "phone"}
    row = by_source["dms"]
    assert row["external_id"] == "A9" and row["vehicle_external_id"] == "V2"
    assert row["customer_external_id"] == "C2" and row["status"] == "arrived"
    detail = dms.get(f"/api/v1/appointments/{booked['dms'].pk}/").json()
    assert detail == row


def test_read_back_filters(dms, booked):
    def found(**query):
        rows = dms.get("/api/v1/appointments/", query).json()["results"]
        return sorted(row["source"] for row in rows)

    today = timezone.localdate()
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert found(updated_since=since) == ["online", "phone"]
    assert found(external_id="A9") == ["dms"]
    assert found(status="cancelled") == ["phone"]
    assert found(source="online") == ["online"]
    assert found(scheduled_from=today.isoformat()) == ["online", "phone"]
    assert found(scheduled_to=today.isoformat()) == ["dms", "online"]
    assert found(scheduled_from=today.isoformat(), scheduled_to=today.isoformat()) == ["online"]
    assert found(vehicle_external_id="V2") == ["dms", "phone"]
    assert found(customer_external_id="C1") == ["online"]
    assert found(external_id="x" * 500) == []  # no record can hold it: nothing, not a 500


def test_synced_rows_read_back_as_sent(dms, vehicles):
    post(dms, "appointments", [appointment(1, note="雨刮")])
    row = dms.get("/api/v1/appointments/", {"external_id": "A1"}).json()["results"][0]
    assert row["source"] == "dms" and row["note"] == "雨刮"
    assert parse_datetime(row["scheduled_at"]) == SLOT


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "flying"}, "status"),
        ({"source": "fax"}, "source"),
        ({"scheduled_from": "2026-13-01"}, "scheduled_from"),
        ({"scheduled_to": "tomorrow"}, "scheduled_to"),
        ({"updated_since": "soon"}, "updated_since"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(dms, query, field):
    response = dms.get("/api/v1/appointments/", query)
    assert response.status_code == 400 and field in response.json()


def test_cursor_pages_cover_every_row_once(dms, vehicles):
    for _n in range(5):
        AppointmentFactory(vehicle=vehicles[0])
    seen, url = [], "/api/v1/appointments/?page_size=2"
    while url:
        body = dms.get(url).json()
        seen += [row["id"] for row in body["results"]]
        url = body["next"]
    assert sorted(seen) == sorted(Appointment.objects.values_list("pk", flat=True))
    assert len(seen) == 5


def test_detail_of_an_unknown_id_is_a_404(dms):
    assert dms.get("/api/v1/appointments/999999/").status_code == 404


@pytest.mark.parametrize(
    ("role", "status"),
    [("manager", 200), ("advisor", 200), ("agent", 200), ("hotline_client", 403)],
)
def test_who_may_read_appointments(booked, role, status):
    session = APIClient()
    session.force_login(UserFactory(role=role, username=f"{role}-appts"))
    assert session.get("/api/v1/appointments/").status_code == status
    assert session.get(f"/api/v1/appointments/{booked['dms'].pk}/").status_code == status


def test_schema_describes_both_endpoints(client):
    import yaml

    paths = yaml.safe_load(client.get("/api/schema/").content)["paths"]
    operation = paths["/api/v1/sync/appointments/"]["post"]
    assert {"200", "400", "401", "403", "413", "429"} <= set(operation["responses"])
    names = {p["name"] for p in paths["/api/v1/appointments/"]["get"]["parameters"]}
    assert {
        "updated_since",
        "external_id",
        "status",
        "scheduled_from",
        "scheduled_to",
        "cursor",
    } <= names
    assert "/api/v1/appointments/{id}/" in paths
