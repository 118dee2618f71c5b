"""The desk's visit pages through the test client."""

from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, Vehicle
from shopcalendar.rules import at
from tests.factories import (
    AppointmentFactory,
    CustomerFactory,
    VehicleFactory,
    VisitFactory,
    open_for_bookings,
    valid_vin,
)
from visits.models import Appointment, Visit

pytestmark = pytest.mark.django_db
S = Visit.Status


def promised(hours=3):
    return (timezone.localtime() + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def new_check_in(**overrides):
    data = {
        "customer_name": "赵敏",
        "customer_phone": "137 0000 0000",
        "customer_kind": "individual",
        "vin": valid_vin(21),
        "plate": "粤b 1a2b3",
        "brand": "丰田",
        "model": "凯美瑞",
        "service_type": "maintenance",
        "concern": "2 万公里保养",
        "odometer_km": "20100",
        "estimated_amount": "680",
        "promised_at": promised(),
        "by_appointment": "0",
    }
    data.update(overrides)
    return data


def test_check_in_form_prefills_the_searched_plate(advisor_client):
    response = advisor_client.get(reverse("visits:check_in"), {"plate": "京a·99999"})
    assert 'value="京A99999"' in response.content.decode()


def test_check_in_a_new_customer_and_vehicle(advisor_client, advisor):
    response = advisor_client.post(reverse("visits:check_in"), new_check_in())
    visit = Visit.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("visits:detail", args=[visit.pk])
    assert visit.customer.phone == "+8613700000000"
    assert visit.vehicle.plate == "粤B1A2B3"
    assert visit.advisor == advisor and visit.odometer_km == 20100


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"vin": "LSV12345678901234"}, "校验位不符"),
        ({"vin": "LSV1234"}, "必须是 17 位"),
        ({"customer_phone": "12345"}, "不是有效的手机号"),
        ({"plate": "粤12345"}, "不是有效的车牌号"),
        ({"promised_at": ""}, "请填写承诺交车时间"),
        ({"promised_at": "tomorrow"}, "输入一个有效的日期/时间"),
        ({"odometer_km": "-1"}, "确保该值大于或等于0"),
        ({"customer_name": ""}, "新客户必须填写此项"),
        ({"service_type": "spa"}, "选择一个有效的选项"),
    ],
)
def test_check_in_bad_input_shows_the_error_and_saves_nothing(advisor_client, overrides, message):
    response = advisor_client.post(reverse("visits:check_in"), new_check_in(**overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (Customer.objects.count(), Vehicle.objects.count(), Visit.objects.count()) == (0, 0, 0)


def test_known_phone_offers_the_customer_and_one_click_uses_it(advisor_client):
    existing = CustomerFactory(name="赵敏", phone="+8613700000000")
    response = advisor_client.post(reverse("visits:check_in"), new_check_in())
    body = response.content.decode()
    assert response.status_code == 400
    assert "已有此客户" in body and f'name="use_customer" value="{existing.pk}"' in body
    response = advisor_client.post(
        reverse("visits:check_in"), new_check_in(use_customer=existing.pk)
    )
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert visit.customer == existing and visit.vehicle.owner == existing
    assert Customer.objects.count() == 1


def test_known_vin_offers_the_vehicle_and_one_click_checks_it_in(advisor_client):
    existing = VehicleFactory()
    response = advisor_client.post(reverse("visits:check_in"), new_check_in(vin=existing.vin))
    assert response.status_code == 400
    assert f'name="use_vehicle" value="{existing.pk}"' in response.content.decode()
    response = advisor_client.post(
        reverse("visits:check_in"), new_check_in(vin=existing.vin, use_vehicle=existing.pk)
    )
    assert response.status_code == 302
    assert Visit.objects.get().vehicle == existing
    assert Vehicle.objects.count() == 1


def test_lower_odometer_asks_for_confirmation(advisor_client):
    vehicle = VehicleFactory(odometer_km=50000)
    data = {
        "vehicle_id": vehicle.pk,
        "service_type": "repair",
        "promised_at": promised(),
        "odometer_km": "40000",
        "by_appointment": "0",
    }
    response = advisor_client.post(reverse("visits:check_in"), data)
    body = response.content.decode()
    assert (
        response.status_code == 400 and "低于上次记录" in body and "confirm_lower_odometer" in body
    )
    response = advisor_client.post(
        reverse("visits:check_in"), {**data, "confirm_lower_odometer": "on"}
    )
    assert response.status_code == 302
    assert Visit.objects.get().odometer_lower_confirmed


def test_check_in_from_an_appointment(advisor_client):
    appointment = AppointmentFactory(service_type="repair", notes="顺便检查轮胎")
    response = advisor_client.get(reverse("visits:check_in"), {"appointment": appointment.pk})
    body = response.content.decode()
    assert "顺便检查轮胎" in body and appointment.vehicle.plate in body
    response = advisor_client.post(
        reverse("visits:check_in"),
        {
            "appointment_id": appointment.pk,
            "vehicle_id": appointment.vehicle_id,
            "customer_id": appointment.customer_id,
            "service_type": "repair",
            "promised_at": promised(),
            "by_appointment": "1",
        },
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.ARRIVED
    assert Visit.objects.get().by_appointment


def test_check_in_of_a_vanished_vehicle_is_a_clear_error(advisor_client):
    response = advisor_client.post(
        reverse("visits:check_in"),
        {
            "vehicle_id": 987654,
            "service_type": "repair",
            "promised_at": promised(),
            "by_appointment": "0",
        },
    )
    assert response.status_code == 400
    assert "所选车辆不存在" in response.content.decode()


def test_board_shows_appointments_and_the_workshop_with_late_ones_marked(advisor_client):
    AppointmentFactory(scheduled_at=timezone.now() + timedelta(minutes=30))
    on_time = VisitFactory(status=S.IN_PROGRESS)
    late = VisitFactory(status=S.READY, promised_at=timezone.now() - timedelta(minutes=5))
    VisitFactory(status=S.DELIVERED, delivered_at=timezone.now())
    response = advisor_client.get(reverse("visits:board"))
    board = response.context["board"]
    assert len(board.appointments) == 1
    by_status = {status: visits for status, _label, visits in board.columns}
    assert by_status[S.IN_PROGRESS] == [on_time] and by_status[S.READY] == [late]
    assert board.late_count == 1
    assert "已超时" in response.content.decode()


def test_move_through_the_workshop_and_deliver(advisor_client):
    visit = VisitFactory()
    url = reverse("visits:transition", args=[visit.pk])
    for status in (S.IN_PROGRESS, S.QUALITY_CHECK, S.READY):
        response = advisor_client.post(url, {"to_status": status})
        assert response.status_code == 302
    response = advisor_client.post(
        reverse("visits:deliver", args=[visit.pk]), {"labour_amount": "300", "parts_amount": "200"}
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == S.DELIVERED and str(visit.total_amount) == "500.00"


def test_the_visit_page_tells_who_changed_what_and_when(advisor_client):
    """The change history names the advisor who moved the car and when, and shows the
    status change (it read fields of the customer page's entries and showed "系统" with no
    time for every change)."""
    visit = VisitFactory()
    advisor_client.post(reverse("visits:transition", args=[visit.pk]), {"to_status": S.IN_PROGRESS})
    body = advisor_client.get(reverse("visits:detail", args=[visit.pk])).content.decode()
    history = body[body.index('class="list-group list-group-flush small history"') :]
    history = history[: history.index("</ul>")]
    changed = timezone.localtime(visit.history.latest("history_date").history_date)
    first = history[: history.index("</li>")]
    assert changed.strftime("%Y-%m-%d %H:%M") in first and "李娜" in first
    assert "维修中" in first


def test_an_illegal_step_is_a_message_not_an_error_page(advisor_client):
    visit = VisitFactory()
    response = advisor_client.post(
        reverse("visits:transition", args=[visit.pk]), {"to_status": S.READY}, follow=True
    )
    assert response.status_code == 200
    assert "不能变更为" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == S.CHECKED_IN


def test_deliver_with_bad_amounts_shows_the_form_again(advisor_client):
    visit = VisitFactory(status=S.READY)
    response = advisor_client.post(
        reverse("visits:deliver", args=[visit.pk]), {"labour_amount": "abc"}
    )
    assert response.status_code == 400
    assert "输入一个数字" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == S.READY


def test_cancel_needs_a_reason(advisor_client):
    visit = VisitFactory()
    response = advisor_client.post(reverse("visits:cancel", args=[visit.pk]), {"cancel_reason": ""})
    assert response.status_code == 400
    response = advisor_client.post(
        reverse("visits:cancel", args=[visit.pk]), {"cancel_reason": "客户改期"}
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == S.CANCELLED


def test_printable_repair_order(advisor_client, settings):
    settings.SHOP_ADDRESS, settings.SHOP_PHONE = "深圳市福田区车公庙 1 号", "0755-1234 5678"
    visit = VisitFactory(
        concern="刹车异响",
        status=Visit.Status.DELIVERED,
        delivered_at=timezone.now(),
        labour_amount=300,
        parts_amount=200,
        total_amount=500,
    )
    body = advisor_client.get(reverse("visits:print", args=[visit.pk])).content.decode()
    assert visit.ro_number in body and "刹车异响" in body
    assert "深圳市福田区车公庙 1 号" in body and "0755-1234 5678" in body
    delivered = timezone.localtime(visit.delivered_at).strftime("%Y-%m-%d %H:%M")
    assert f'id="ro-delivered-at">{delivered}' in body
    assert "客户确认委托（签字）" in body and "客户确认交车（签字）" in body
    assert "js/print.js" in body


def test_missing_visit_is_404(advisor_client):
    assert advisor_client.get(reverse("visits:detail", args=[424242])).status_code == 404


def test_book_an_appointment_and_it_shows_on_the_board(advisor_client, advisor):
    vehicle = VehicleFactory()
    url = reverse("visits:appointment_create", args=[vehicle.pk])
    page = advisor_client.get(url)
    assert page.status_code == 200
    # The first free slot is offered by default (the shop's default capacity).
    first = page.context["form"].fields["scheduled_at"].widget.choices[1][0]
    response = advisor_client.post(
        url,
        {
            "scheduled_at": first,
            "service_type": "maintenance",
            "advisor": advisor.pk,
            "notes": "洗车",
        },
    )
    assert response.status_code == 302
    appointment = Appointment.objects.get()
    assert appointment.customer == vehicle.owner and appointment.advisor == advisor
    assert appointment.source == Appointment.Source.DESK
    board = advisor_client.get(reverse("visits:board")).context["board"]
    if timezone.localdate(appointment.scheduled_at) == timezone.localdate():
        assert board.appointments == [appointment]


def test_the_desk_form_offers_the_days_free_slots_and_books_through_capacity(advisor_client):
    shop = open_for_bookings()
    monday = shop["monday"]
    AppointmentFactory.create_batch(3, scheduled_at=at(monday, time(10)))
    vehicle = VehicleFactory()
    url = reverse("visits:appointment_create", args=[vehicle.pk])
    page = advisor_client.get(url, {"day": monday.isoformat(), "service_type": "maintenance"})
    body = page.content.decode()
    nine, eleven = f"{monday:%Y-%m-%d}T09:00", f"{monday:%Y-%m-%d}T11:00"
    assert f'value="{nine}"' in body and f'value="{eleven}"' in body
    assert f'value="{monday:%Y-%m-%d}T10:00"' not in body  # full
    assert "剩 3 个" in body
    # The full slot posted anyway (taken meanwhile): refused with the next free slots.
    full = advisor_client.post(
        url, {"scheduled_at": f"{monday:%Y-%m-%d}T10:00", "service_type": "maintenance"}
    )
    assert full.status_code == 400
    assert "该时段已约满" in full.content.decode() and "11:00" in full.content.decode()
    assert Appointment.objects.filter(vehicle=vehicle).count() == 0
    ok = advisor_client.post(url, {"scheduled_at": nine, "service_type": "maintenance"})
    assert ok.status_code == 302
    assert Appointment.objects.get(vehicle=vehicle).scheduled_at == at(monday, time(9))


def test_the_desk_form_on_a_closed_day_points_to_the_next_free_slots(advisor_client):
    shop = open_for_bookings()
    sunday = shop["monday"] - timedelta(days=1)
    url = reverse("visits:appointment_create", args=[VehicleFactory().pk])
    body = advisor_client.get(url, {"day": sunday.isoformat(), "service_type": "repair"})
    body = body.content.decode()
    assert 'id="no-slots"' in body
    assert f"?day={shop['monday']:%Y-%m-%d}&amp;service_type=repair" in body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"scheduled_at": "", "service_type": "maintenance"}, "请选择预约时段"),
        ({"scheduled_at": "2020-01-01T09:00", "service_type": "maintenance"}, "该时段已过"),
        ({"scheduled_at": "MONDAYT09:30", "service_type": "maintenance"}, "开始时间"),
        ({"scheduled_at": "SUNDAYT09:00", "service_type": "maintenance"}, "门店休息"),
        ({"scheduled_at": "not a time", "service_type": "maintenance"}, "输入一个有效的日期/时间"),
        ({"scheduled_at": "2099-01-01T09:00", "service_type": "car wash"}, "选择一个有效的选项"),
    ],
)
def test_booking_bad_input_saves_nothing(advisor_client, data, message):
    monday = open_for_bookings()["monday"]
    data = {
        **data,
        "scheduled_at": data["scheduled_at"]
        .replace("MONDAY", monday.isoformat())
        .replace("SUNDAY", (monday - timedelta(days=1)).isoformat()),
    }
    vehicle = VehicleFactory()
    response = advisor_client.post(reverse("visits:appointment_create", args=[vehicle.pk]), data)
    assert response.status_code == 400 and message in response.content.decode()
    assert Appointment.objects.count() == 0


def test_cancel_an_appointment_asks_first_and_records_the_reason(advisor_client):
    """Issue 16, bug 12: one click on a small × used to cancel at once, without a reason."""
    appointment = AppointmentFactory()
    board = advisor_client.get(reverse("visits:board")).content.decode()
    url = reverse("visits:appointment_cancel", args=[appointment.pk])
    assert f'href="{url}"' in board  # a link to the question, not a form that cancels
    page = advisor_client.get(url)
    assert page.status_code == 200 and "确认取消预约" in page.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED  # asking changes nothing
    assert advisor_client.post(url, {"reason": "rescheduled"}).status_code == 302
    appointment.refresh_from_db()
    assert (appointment.status, appointment.cancel_reason) == (
        Appointment.Status.CANCELLED,
        "rescheduled",
    )
    assert appointment.history.first().history_user.username.startswith("advisor")
    response = advisor_client.post(url, {"reason": "rescheduled"}, follow=True)
    assert "该预约已不是待到店状态" in response.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "请选择取消原因"),
        ({"reason": "bored"}, "选择一个有效的选项"),
        ({"reason": "other", "note": "  "}, "选择“其他”时请写明原因"),
        ({"reason": "duplicate", "note": "长" * 201}, "200"),
    ],
)
def test_cancel_without_a_good_reason_cancels_nothing(advisor_client, data, message):
    appointment = AppointmentFactory()
    url = reverse("visits:appointment_cancel", args=[appointment.pk])
    response = advisor_client.post(url, data)
    assert response.status_code == 400 and message in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED and appointment.cancel_reason == ""


def test_agent_cannot_book_or_cancel(client, agent):
    client.force_login(agent)
    appointment = AppointmentFactory()
    assert (
        client.get(reverse("visits:appointment_create", args=[appointment.vehicle_id])).status_code
        == 403
    )
    assert (
        client.post(
            reverse("visits:appointment_cancel", args=[appointment.pk]), {"reason": "duplicate"}
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    "query", [{"vehicle": "abc"}, {"customer": "1; drop"}, {"appointment": "x"}, {"vehicle": ""}]
)
def test_junk_ids_in_the_check_in_link_are_ignored_not_a_500(advisor_client, query):
    assert advisor_client.get(reverse("visits:check_in"), query).status_code == 200


@pytest.mark.parametrize("field", ["use_customer", "use_vehicle", "vehicle_id", "appointment_id"])
def test_junk_ids_posted_are_a_form_error(advisor_client, field):
    response = advisor_client.post(reverse("visits:check_in"), new_check_in(**{field: "zzz"}))
    assert response.status_code == 400
    assert "输入整数" in response.content.decode()
    assert Visit.objects.count() == 0 and Customer.objects.count() == 0


def test_unknown_appointment_link_is_404(advisor_client):
    assert advisor_client.get(reverse("visits:check_in"), {"appointment": 99999}).status_code == 404


def test_a_car_already_in_the_shop_is_said_as_soon_as_it_is_picked(advisor_client):
    """Issue 16: "已在店内" came only after the whole form was filled and submitted."""
    open_visit = VisitFactory(status=Visit.Status.IN_PROGRESS)
    vehicle = open_visit.vehicle
    page = advisor_client.get(reverse("visits:check_in"), {"vehicle": vehicle.pk})
    html = page.content.decode()
    assert 'id="already-in-shop"' in html and open_visit.ro_number in html
    assert f'href="{reverse("visits:detail", args=[open_visit.pk])}"' in html
    assert 'id="submit-check-in" disabled' in html
    found = advisor_client.get(reverse("customers:search"), {"q": vehicle.plate}).content.decode()
    assert "已在店内" in found and open_visit.ro_number in found
    free = VehicleFactory()
    VisitFactory(vehicle=free, status=Visit.Status.DELIVERED, delivered_at=timezone.now())
    html = advisor_client.get(reverse("visits:check_in"), {"vehicle": free.pk}).content.decode()
    assert 'id="already-in-shop"' not in html and 'id="submit-check-in">' in html
