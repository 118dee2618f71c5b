"""Issue 18: the figures of METRICS.md "Bringing the car back" — booking_show_rate,
online_booking_share, reminder_conversion_rate (overall and by channel: call, SMS, WeChat),
win_back_conversion_rate and the reminder funnel (reminded → booked → arrived → delivered)
— in the summary API against an independent computation written here from METRICS.md and
docs/decisions.md, on a hand-built randomised shop; the funnel's drill-down rows, the export,
and the dashboard's queries (a fixed number, whatever the data)."""

import csv
import html
import io
import random
import re
from datetime import date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from followups.models import FollowUpTask
from messaging.models import Message
from tests.factories import CustomerFactory, UserFactory, VehicleFactory
from visits.models import Appointment, Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
TZ = timezone.get_default_timezone()
TODAY = date(2026, 11, 20)
NOW = timezone.make_aware(datetime.combine(TODAY, time(12, 0)), TZ)
PERIODS = [
    (date(2025, 11, 21), TODAY),
    (date(2026, 6, 1), date(2026, 6, 30)),
    (date(2026, 9, 1), date(2026, 10, 15)),
    (TODAY, TODAY),
    (date(2020, 1, 1), date(2020, 12, 31)),  # empty: null rates, a funnel of zeros
]


def at(day: date, hours: float) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), TZ) + timedelta(hours=hours)


def a_moment(rng, days_back=420) -> datetime:
    return at(TODAY - timedelta(days=rng.randint(0, days_back)), rng.uniform(8, 18))


def build(rng, scale: int = 1, offset: int = 0) -> dict:
    """``offset``: a second shop in the same database takes other phones and RO numbers."""
    customers = [CustomerFactory(phone=f"+86139{offset + n:08d}") for n in range(10 * scale)]
    vehicles = [VehicleFactory(owner=customers[n % len(customers)]) for n in range(16 * scale)]
    visits, appointments, tasks, messages = [], [], [], []
    for n in range(60 * scale):
        vehicle = rng.choice(vehicles)
        created = a_moment(rng)
        appointment = Appointment.objects.create(
            vehicle=vehicle,
            customer=vehicle.owner,
            scheduled_at=created + timedelta(days=rng.randint(0, 20), hours=rng.randint(0, 5)),
            service_type=rng.choice(["maintenance", "repair"]),
            status=rng.choice(["booked", "arrived", "arrived", "no_show", "cancelled"]),
            source=rng.choice(["online", "phone", "desk", "dms"]),
        )
        Appointment.objects.filter(pk=appointment.pk).update(created_at=created)
        appointment.refresh_from_db()
        appointments.append(appointment)
        if appointment.status == "arrived" and rng.random() < 0.8:
            checked_in = appointment.scheduled_at
            delivered = rng.random() < 0.7
            visits.append(
                Visit.objects.create(
                    ro_number=f"RO-A-{offset}-{n}",
                    vehicle=vehicle,
                    customer=vehicle.owner,
                    appointment=appointment,
                    service_type=appointment.service_type,
                    status=Visit.Status.DELIVERED if delivered else Visit.Status.IN_PROGRESS,
                    checked_in_at=checked_in,
                    promised_at=checked_in + timedelta(hours=4),
                    delivered_at=checked_in + timedelta(hours=3) if delivered else None,
                )
            )
    for n in range(40 * scale):  # walk-ins, some cancelled
        vehicle = rng.choice(vehicles)
        checked_in = a_moment(rng)
        visits.append(
            Visit.objects.create(
                ro_number=f"RO-W-{offset}-{n}",
                vehicle=vehicle,
                customer=vehicle.owner,
                service_type="maintenance",
                status=rng.choice([Visit.Status.DELIVERED, Visit.Status.CANCELLED]),
                checked_in_at=checked_in,
                promised_at=checked_in + timedelta(hours=4),
                delivered_at=checked_in + timedelta(hours=2),
            )
        )
    for n, vehicle in enumerate(vehicles * 5):
        if rng.random() < 0.5:
            continue
        created = a_moment(rng)
        key = f"vehicle:{vehicle.pk}:{(created.date() + timedelta(days=n % 40)).isoformat()}:{n}"
        task = FollowUpTask.objects.create(
            kind="maintenance_reminder",
            source_key=key,
            customer=vehicle.owner,
            vehicle=vehicle,
            due_at=created,
            next_attempt_at=created,
            status=rng.choice(["pending", "done", "done", "failed", "expired", "cancelled"]),
        )
        FollowUpTask.objects.filter(pk=task.pk).update(created_at=created)
        task.refresh_from_db()
        tasks.append(task)
        for channel in rng.sample(["sms", "wechat"], rng.randint(0, 2)):
            message = Message.objects.create(
                purpose="maintenance_reminder",
                channel=channel,
                recipient=f"{vehicle.owner.phone}-{channel}",
                object_key=key,
                customer=vehicle.owner,
                body="保养提醒",
                status=rng.choice(["sent", "sent", "queued", "cancelled", "gave_up"]),
                next_attempt_at=created,
            )
            Message.objects.filter(pk=message.pk).update(created_at=created)
            message.refresh_from_db()
            messages.append(message)
    for n, customer in enumerate(customers * 3):
        if rng.random() < 0.5:
            continue
        created = a_moment(rng)
        task = FollowUpTask.objects.create(
            kind="win_back",
            source_key=f"customer:{customer.pk}:{offset}-{n}",
            customer=customer,
            due_at=created,
            next_attempt_at=created,
            status=rng.choice(["pending", "done", "cancelled"]),
        )
        FollowUpTask.objects.filter(pk=task.pk).update(created_at=created)
        task.refresh_from_db()
        tasks.append(task)
    return {
        "visits": visits,
        "appointments": appointments,
        "tasks": tasks,
        "messages": messages,
        "vehicles": vehicles,
    }


@pytest.fixture
def shop(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return build(random.Random(18))


def share(a, b):
    return None if not b else a / b


def expected(shop, start: date, end: date) -> dict:
    """METRICS.md, "Bringing the car back", counted row by row."""
    since, until = at(start, 0), at(end + timedelta(days=1), 0)

    def in_period(moment):
        return since <= moment < until

    appointments, visits = shop["appointments"], shop["visits"]
    vehicle_of_key = {
        t.source_key: t.vehicle_id for t in shop["tasks"] if t.kind == "maintenance_reminder"
    }

    def came_in(moment, days, *, vehicle=None, customer=None):
        end_at = moment + timedelta(days=days)

        def ours(row):
            return row.vehicle_id == vehicle if vehicle else row.customer_id == customer

        return any(ours(a) and moment <= a.created_at <= end_at for a in appointments) or any(
            ours(v) and v.status != "cancelled" and moment <= v.checked_in_at <= end_at
            for v in visits
        )

    judged = [
        a for a in appointments if in_period(a.scheduled_at) and a.status in ("arrived", "no_show")
    ]
    booked = [a for a in appointments if in_period(a.created_at)]
    went_out = [m for m in shop["messages"] if m.status not in ("cancelled", "gave_up")]
    calls = [
        t
        for t in shop["tasks"]
        if t.kind == "maintenance_reminder" and in_period(t.created_at) and t.status != "cancelled"
    ]
    reminded = [
        t
        for t in shop["tasks"]
        if t.kind == "maintenance_reminder"
        and in_period(t.created_at)
        and (t.status != "cancelled" or any(m.object_key == t.source_key for m in went_out))
    ]
    by_channel = {
        "call": share(
            sum(came_in(t.created_at, 30, vehicle=t.vehicle_id) for t in calls), len(calls)
        )
    }
    for channel in ("sms", "wechat"):
        sent = [m for m in went_out if m.channel == channel and in_period(m.created_at)]
        by_channel[channel] = share(
            sum(came_in(m.created_at, 30, vehicle=vehicle_of_key[m.object_key]) for m in sent),
            len(sent),
        )
    win_backs = [
        t
        for t in shop["tasks"]
        if t.kind == "win_back" and in_period(t.created_at) and t.status != "cancelled"
    ]

    def bookings_after(task):
        end_at = task.created_at + timedelta(days=30)
        return [
            a
            for a in appointments
            if a.vehicle_id == task.vehicle_id and task.created_at <= a.created_at <= end_at
        ]

    delivered_appointments = {v.appointment_id for v in visits if v.status == "delivered"}
    funnel = {
        "reminded": len(reminded),
        "booked": sum(bool(bookings_after(t)) for t in reminded),
        "arrived": sum(any(a.status == "arrived" for a in bookings_after(t)) for t in reminded),
        "delivered": sum(
            any(a.status == "arrived" and a.pk in delivered_appointments for a in bookings_after(t))
            for t in reminded
        ),
    }
    return {
        "booking_show_rate": share(sum(a.status == "arrived" for a in judged), len(judged)),
        "online_booking_share": share(sum(a.source == "online" for a in booked), len(booked)),
        "reminder_conversion_rate": share(
            sum(came_in(t.created_at, 30, vehicle=t.vehicle_id) for t in reminded), len(reminded)
        ),
        "reminder_conversion_rate_by_channel": by_channel,
        "win_back_conversion_rate": share(
            sum(came_in(t.created_at, 60, customer=t.customer_id) for t in win_backs),
            len(win_backs),
        ),
        "reminder_funnel": funnel,
    }


def close(got, want, name):
    if want is None:
        assert got is None, name
    else:
        assert got == pytest.approx(float(want), rel=1e-9), name


@pytest.mark.parametrize(("start", "end"), PERIODS)
def test_the_return_figures_match_an_independent_computation(shop, start, end):
    client = APIClient()
    client.force_login(UserFactory(role="manager", username="manager-back"))
    answer = client.get("/api/v1/reports/summary/", {"start": start, "end": end})
    assert answer.status_code == 200, answer.content
    got = answer.json()
    want = expected(shop, start, end)
    for name in ("booking_show_rate", "online_booking_share", "reminder_conversion_rate"):
        close(got[name], want[name], name)
    close(got["win_back_conversion_rate"], want["win_back_conversion_rate"], "win_back")
    assert set(got["reminder_conversion_rate_by_channel"]) == {"call", "sms", "wechat"}
    for channel, value in want["reminder_conversion_rate_by_channel"].items():
        close(got["reminder_conversion_rate_by_channel"][channel], value, channel)
    assert got["reminder_funnel"] == want["reminder_funnel"]


def test_the_dataset_exercises_every_figure(shop):
    """The independent computation is not vacuous: every figure has a denominator and
    neither 0 nor 1 over the 12 months, and the funnel narrows at each step."""
    want = expected(shop, *PERIODS[0])
    rates = [
        want["booking_show_rate"],
        want["online_booking_share"],
        want["reminder_conversion_rate"],
        want["win_back_conversion_rate"],
        *want["reminder_conversion_rate_by_channel"].values(),
    ]
    assert all(value is not None and 0 < value < 1 for value in rates), rates
    funnel = list(want["reminder_funnel"].values())
    assert funnel[0] > funnel[1] > funnel[2] > funnel[3] > 0, funnel


def test_a_call_and_an_sms_for_one_vehicle_are_one_reminder_overall(monkeypatch):
    """docs/decisions.md: a reminder by call and SMS is one reminder overall (its key), one
    in each channel; booked 10 days later, it converted in both."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    vehicle = VehicleFactory()
    reminded_at = at(date(2026, 10, 1), 10)
    key = f"vehicle:{vehicle.pk}:2026-10-20"
    task = FollowUpTask.objects.create(
        kind="maintenance_reminder",
        source_key=key,
        customer=vehicle.owner,
        vehicle=vehicle,
        due_at=reminded_at,
        next_attempt_at=reminded_at,
        status="done",
    )
    message = Message.objects.create(
        purpose="maintenance_reminder",
        channel="sms",
        recipient=vehicle.owner.phone,
        object_key=key,
        customer=vehicle.owner,
        body="保养提醒",
        status="sent",
        next_attempt_at=reminded_at,
    )
    FollowUpTask.objects.filter(pk=task.pk).update(created_at=reminded_at)
    Message.objects.filter(pk=message.pk).update(created_at=reminded_at)
    booked = Appointment.objects.create(
        vehicle=vehicle,
        customer=vehicle.owner,
        scheduled_at=reminded_at + timedelta(days=12),
        service_type="maintenance",
        source="online",
    )
    Appointment.objects.filter(pk=booked.pk).update(created_at=reminded_at + timedelta(days=10))
    from reports import metrics

    figures = metrics.return_figures(metrics.Period(start=date(2026, 10, 1), end=date(2026, 10, 1)))
    assert figures["reminder_funnel"] == {"reminded": 1, "booked": 1, "arrived": 0, "delivered": 0}
    assert figures["reminder_conversion_rate"] == 1
    assert figures["reminder_conversion_rate_by_channel"] == {"call": 1, "sms": 1, "wechat": None}
    # 31 days later is too late.
    Appointment.objects.filter(pk=booked.pk).update(created_at=reminded_at + timedelta(days=31))
    figures = metrics.return_figures(metrics.Period(start=date(2026, 10, 1), end=date(2026, 10, 1)))
    assert figures["reminder_conversion_rate"] == 0
    assert figures["reminder_funnel"]["booked"] == 0


# ---------------------------------------------------------------- the dashboard


@pytest.fixture
def manager(client):
    client.force_login(UserFactory(role="manager", username="manager-funnel"))
    return client


def test_each_funnel_step_opens_exactly_its_rows(shop, manager):
    start, end = PERIODS[0]
    want = expected(shop, start, end)["reminder_funnel"]
    page = manager.get(
        reverse("reports:dashboard"), {"preset": "custom", "start": start, "end": end}
    )
    assert page.status_code == 200
    funnel = page.context["reminder_funnel"]
    assert [step["count"] for step in funnel] == [want[s] for s in want]
    assert funnel[0]["share"] is None
    assert funnel[1]["share"] == pytest.approx(want["booked"] / want["reminded"])
    body = page.content.decode()
    for step in funnel:
        assert step["link"].replace("&", "&amp;") in body
        rows = manager.get(step["link"])
        assert rows.status_code == 200
        assert rows.context["count"] == step["count"], step["step"]
        exported = manager.get(step["link"].replace("/reminders/", "/reminders.csv"))
        lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
        assert len(lines) == step["count"] + 1, step["step"]


def test_the_funnel_page_refuses_a_bad_step_and_bad_dates(shop, manager):
    assert manager.get(reverse("reports:reminders"), {"step": "teleported"}).status_code == 400
    bad = manager.get(reverse("reports:reminders"), {"preset": "custom", "start": "2026-13-01"})
    assert bad.status_code == 400
    csv_bad = manager.get(reverse("reports:reminders_csv"), {"step": "nope"})
    assert csv_bad.status_code == 400


def test_the_funnel_page_needs_the_reports_permission(shop, client):
    client.force_login(UserFactory(role="advisor", username="advisor-funnel"))
    assert client.get(reverse("reports:reminders")).status_code == 403


def test_the_summary_export_has_the_four_figures_and_the_funnel(shop, manager):
    start, end = PERIODS[0]
    want = expected(shop, start, end)
    answer = manager.get(
        reverse("reports:export_csv", args=["summary"]),
        {"preset": "custom", "start": start, "end": end},
    )
    figures = dict(list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))[1:])
    assert figures["预约到店率"] == f"{want['booking_show_rate'] * 100:.1f}%"
    assert figures["在线预约占比"] == f"{want['online_booking_share'] * 100:.1f}%"
    assert figures["保养提醒转化率"] == f"{want['reminder_conversion_rate'] * 100:.1f}%"
    sms = want["reminder_conversion_rate_by_channel"]["sms"]
    assert figures["保养提醒转化率（短信）"] == f"{sms * 100:.1f}%"
    assert figures["流失召回转化率（60 天）"] == f"{want['win_back_conversion_rate'] * 100:.1f}%"
    assert figures["已提醒（辆次）"] == str(want["reminder_funnel"]["reminded"])
    assert figures["提醒后交车"] == str(want["reminder_funnel"]["delivered"])


def test_the_dashboards_exports_keep_the_period_shown(shop, manager):
    """The dashboard's export links carried start and end without the "custom" preset, and
    the period form fell back to the last 12 months: the file had another period's figures."""
    start, end = PERIODS[1]
    want = expected(shop, start, end)["reminder_funnel"]
    page = manager.get(
        reverse("reports:dashboard"), {"preset": "custom", "start": start, "end": end}
    ).content.decode()
    link = re.search(r'id="export-reminders" href="([^"]+)"', page).group(1)
    exported = manager.get(html.unescape(link))
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))[1:]
    assert [int(row[1]) for row in rows] == list(want.values())
    assert want != expected(shop, *PERIODS[0])["reminder_funnel"]


def test_the_dashboard_takes_the_same_number_of_queries_whatever_the_data(monkeypatch, manager):
    """The figures and the funnel are aggregates (one query each), never a query per row:
    the dashboard's query count does not grow with the reminders and appointments."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    query = {"preset": "custom", "start": PERIODS[0][0], "end": PERIODS[0][1]}

    def queries():
        manager.get(reverse("reports:dashboard"), query)  # warm the caches
        with CaptureQueriesContext(connection) as captured:
            assert manager.get(reverse("reports:dashboard"), query).status_code == 200
        return len(captured)

    build(random.Random(1), scale=1)
    small = queries()
    build(random.Random(2), scale=3, offset=1000)
    assert queries() == small


def test_the_periods_reminders_are_found_by_their_index_not_a_scan(monkeypatch):
    """A big shop's task and message tables are mostly other kinds (post-service calls,
    service messages): the period's reminders, win-backs and reminder messages are read
    through their partial indexes, not a scan of those tables."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    from reports import metrics

    customer = CustomerFactory()
    vehicle = VehicleFactory(owner=customer)
    FollowUpTask.objects.bulk_create(
        FollowUpTask(
            kind="post_service" if n % 100 else "maintenance_reminder",
            source_key=f"visit:{n}" if n % 100 else f"vehicle:{vehicle.pk}:{n}",
            customer=customer,
            vehicle=vehicle,
            due_at=NOW,
            next_attempt_at=NOW,
            status="done",
        )
        for n in range(30000)
    )
    Message.objects.bulk_create(
        Message(
            purpose="service_ready" if n % 100 else "maintenance_reminder",
            channel="sms",
            recipient=customer.phone,
            object_key=f"visit:{n}" if n % 100 else f"vehicle:{vehicle.pk}:{n}",
            customer=customer,
            body="…",
            status="sent",
            next_attempt_at=NOW,
        )
        for n in range(30000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE followups_followuptask")
        cursor.execute("ANALYZE messaging_message")
    period = metrics.Period(start=date(2026, 11, 1), end=TODAY)
    plans = {
        "followup_return_idx": metrics.reminders(period).explain(),
        "followup_win_back_idx": metrics.win_backs(period).explain(),  # the older index serves
        "message_reminder_idx": metrics.reminder_messages(period).explain(),
    }
    for index, plan in plans.items():
        assert index in plan and "Seq Scan" not in plan, plan


def test_the_appointment_figures_follow_the_advisor_and_service_type(monkeypatch):
    """docs/decisions.md: show rate and online share are the appointments' of the chosen
    advisor and service type; the reminders' figures stay the shop's."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    from reports import metrics

    advisor = UserFactory(role="advisor", username="adv-back")
    vehicle = VehicleFactory()
    day = date(2026, 10, 5)
    for status, source, service_type, by in [
        ("arrived", "online", "maintenance", advisor),
        ("no_show", "phone", "maintenance", advisor),
        ("no_show", "online", "repair", advisor),
        ("arrived", "desk", "maintenance", None),
    ]:
        row = Appointment.objects.create(
            vehicle=vehicle,
            customer=vehicle.owner,
            scheduled_at=at(day, 10),
            service_type=service_type,
            status=status,
            source=source,
            advisor=by,
        )
        Appointment.objects.filter(pk=row.pk).update(created_at=at(day, 9))

    def figures(**narrowed):
        return metrics.appointment_figures(metrics.Period(start=day, end=day, **narrowed))

    assert figures() == {"booking_show_rate": 0.5, "online_booking_share": 0.5}
    assert figures(advisor=advisor.pk) == {
        "booking_show_rate": pytest.approx(1 / 3),
        "online_booking_share": pytest.approx(2 / 3),
    }
    assert figures(advisor=advisor.pk, service_type="maintenance") == {
        "booking_show_rate": 0.5,
        "online_booking_share": 0.5,
    }
    assert figures(service_type="warranty") == {
        "booking_show_rate": None,
        "online_booking_share": None,
    }
