"""Reminders that book (issue 18): on a maintenance-reminder, win-back or missed-appointment
call the agent books a slot against the shop's capacity, and the outcome "booked" records
it; the agent sees the customer's upcoming appointment before calling."""

from datetime import time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from followups import services, sources
from followups.models import CallAttempt, FollowUpTask
from shopcalendar.rules import at
from tests.factories import (
    AppointmentFactory,
    VehicleFactory,
    VisitFactory,
    contact_all_day,
    open_for_bookings,
)
from visits.models import Appointment, Visit

pytestmark = pytest.mark.django_db
S, OUT, K = FollowUpTask.Status, FollowUpTask.Outcome, FollowUpTask.Kind


@pytest.fixture(autouse=True)
def always_calling_hours():
    contact_all_day()


@pytest.fixture
def shop():
    return open_for_bookings()


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def reminder(due_day, vehicle=None):
    vehicle = vehicle or VehicleFactory()
    task, _created = services.task_create(
        kind=K.MAINTENANCE_REMINDER,
        source=sources.of_vehicle_service(vehicle.pk, due_day),
        customer=vehicle.owner,
        vehicle=vehicle,
        due_at=timezone.now() - timedelta(minutes=1),
        reason="预计保养",
    )
    return task


def claim(agent_client, task):
    assert agent_client.post(reverse("followups:next")).status_code == 302
    task.refresh_from_db()
    assert task.status == S.CLAIMED
    return reverse("followups:outcome", args=[task.pk])


def slot_value(day, hour):
    return f"{day:%Y-%m-%d}T{hour:02d}:00"


def test_the_reminder_call_offers_slots_from_the_predicted_day_and_shows_the_upcoming_visit(
    agent_client, shop
):
    monday = shop["monday"]
    task = reminder(monday)
    later = AppointmentFactory(
        vehicle=task.vehicle, scheduled_at=at(monday + timedelta(days=3), time(10))
    )
    claim(agent_client, task)
    body = agent_client.get(reverse("followups:call", args=[task.pk])).content.decode()
    assert 'id="upcoming-appointment"' in body
    assert timezone.localtime(later.scheduled_at).strftime("%Y-%m-%d %H:%M") in body
    assert 'id="booking-card"' in body and 'value="booked"' in body
    assert f'value="{slot_value(monday, 9)}"' in body  # the predicted day's first slot
    # Another day and service type on request.
    tuesday = monday + timedelta(days=1)
    body = agent_client.get(
        reverse("followups:call", args=[task.pk]),
        {"booking_day": tuesday.isoformat(), "booking_service_type": "repair"},
    ).content.decode()
    assert f'value="{slot_value(monday, 9)}"' not in body
    assert f'value="{slot_value(tuesday, 9)}"' in body


def test_the_agent_books_and_the_booked_outcome_records_it(agent_client, agent, shop):
    monday = shop["monday"]
    task = reminder(monday)
    url = claim(agent_client, task)
    response = agent_client.post(
        url,
        {
            "outcome": OUT.BOOKED,
            "booking_slot": slot_value(monday, 10),
            "booking_service_type": "maintenance",
            "booking_vehicle": task.vehicle_id,
            "note": "客户周一上午来",
        },
    )
    assert response.status_code == 302
    task.refresh_from_db()
    appointment = Appointment.objects.get()
    assert (task.status, task.outcome, task.appointment) == (S.DONE, OUT.BOOKED, appointment)
    assert (appointment.source, appointment.scheduled_at) == ("phone", at(monday, time(10)))
    assert appointment.vehicle == task.vehicle and appointment.customer == task.customer
    assert appointment.history.first().history_user == agent
    assert CallAttempt.objects.get(task=task).outcome == OUT.BOOKED


def test_a_win_back_call_books_one_of_the_customers_cars(agent_client, shop):
    vehicle = VehicleFactory()
    second = VehicleFactory(owner=vehicle.owner)
    task, _ = services.task_create(
        kind=K.WIN_BACK,
        source=sources.of_lapse(vehicle.owner_id, shop["monday"] - timedelta(days=400)),
        customer=vehicle.owner,
        due_at=timezone.now() - timedelta(minutes=1),
    )
    url = claim(agent_client, task)
    body = agent_client.get(reverse("followups:call", args=[task.pk])).content.decode()
    assert f'<option value="{second.pk}">' in body
    response = agent_client.post(
        url,
        {
            "outcome": OUT.BOOKED,
            "booking_slot": slot_value(shop["monday"], 11),
            "booking_service_type": "repair",
            "booking_vehicle": second.pk,
        },
    )
    assert response.status_code == 302
    assert Appointment.objects.get().vehicle == second
    task.refresh_from_db()
    assert task.outcome == OUT.BOOKED and task.appointment is not None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "请选择预约时段"),
        ({"booking_slot": "FULL"}, "该时段已约满"),
        ({"booking_slot": "PAST"}, "该时段已过"),
        ({"booking_slot": "HALF"}, "开始时间"),
        ({"booking_slot": "garbage"}, "输入一个有效的日期/时间"),
        ({"booking_slot": "MON9", "booking_vehicle": "OTHER"}, "选择一个有效的选项"),
    ],
)
def test_a_booked_outcome_without_a_good_booking_writes_nothing(agent_client, shop, extra, message):
    monday = shop["monday"]
    AppointmentFactory.create_batch(3, scheduled_at=at(monday, time(9)))
    task = reminder(monday)
    url = claim(agent_client, task)
    values = {
        "FULL": slot_value(monday, 9),
        "PAST": slot_value(timezone.localdate() - timedelta(days=2), 9),
        "HALF": f"{monday:%Y-%m-%d}T10:30",
        "MON9": slot_value(monday, 10),
        "OTHER": str(VehicleFactory().pk),
    }
    data = {"outcome": OUT.BOOKED, "booking_service_type": "maintenance"}
    data.update({key: values.get(value, value) for key, value in extra.items()})
    response = agent_client.post(url, data)
    assert response.status_code == 400
    body = response.content.decode()
    assert message in body
    if message == "该时段已约满":
        assert f"{monday + timedelta(days=0):%m-%d} 10:00" in body  # the next free slot
    task.refresh_from_db()
    assert (task.status, task.outcome, task.attempts, task.appointment) == (
        S.CLAIMED,
        "",
        0,
        None,
    )
    assert Appointment.objects.count() == 3 and not CallAttempt.objects.exists()


def test_booked_is_not_an_outcome_of_a_three_day_call(agent_client, shop):
    delivered = timezone.now() - timedelta(hours=30)
    visit = VisitFactory(
        status=Visit.Status.DELIVERED,
        checked_in_at=delivered - timedelta(hours=2),
        delivered_at=delivered,
    )
    task = services.post_service_task_create(visit_id=visit.pk)
    url = claim(agent_client, task)
    body = agent_client.get(reverse("followups:call", args=[task.pk])).content.decode()
    assert 'value="booked"' not in body and 'id="booking-card"' not in body
    response = agent_client.post(
        url,
        {
            "outcome": OUT.BOOKED,
            "booking_slot": slot_value(shop["monday"], 10),
            "booking_vehicle": visit.vehicle_id,
        },
    )
    assert response.status_code == 400 and "不能登记“预约成功”" in response.content.decode()
    assert not Appointment.objects.exists()
    task.refresh_from_db()
    assert task.status == S.CLAIMED


def test_the_service_refuses_booked_without_an_appointment(agent, shop):
    task = reminder(shop["monday"])
    task = services.task_claim_next(agent=agent)
    with pytest.raises(ValidationError) as caught:
        services.task_record_outcome(task=task, agent=agent, outcome=OUT.BOOKED)
    assert "请选择预约时段" in " ".join(caught.value.message_dict["scheduled_at"])
    task.refresh_from_db()
    assert task.status == S.CLAIMED and task.outcome == ""
