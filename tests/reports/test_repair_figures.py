"""The repair's figures (METRICS.md, "Keeping the customer informed during the repair") in
the summary API against an independent computation written here from METRICS.md, on a
randomised shop: extra_work_approval_rate, approval_turnaround_minutes,
estimate_accuracy_rate, progress_update_rate and recommended_work_conversion_rate."""

import random
import statistics
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from messaging.models import Message
from reports import metrics
from shopcrm.people import person_name
from tests.factories import CustomerFactory, UserFactory, VehicleFactory
from visits.models import Recommendation, Visit, WorkItem

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
TZ = timezone.get_default_timezone()
TODAY = date(2026, 11, 20)
NOW = timezone.make_aware(datetime.combine(TODAY, time(12, 0)), TZ)


def at(day: date, hours: float) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), TZ) + timedelta(hours=hours)


@pytest.fixture
def shop(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    rng = random.Random(17)
    customers = [CustomerFactory(phone=f"+86139{n:08d}") for n in range(12)]
    vehicles = [VehicleFactory(owner=customers[n % 12]) for n in range(20)]
    advisors = [UserFactory(role="advisor", username=f"advisor-rf-{n}") for n in range(3)]
    visits = []
    for n in range(160):
        day = TODAY - timedelta(days=rng.randint(1, 420))
        checked_in = at(day, rng.uniform(8.5, 11))
        delivered = checked_in + timedelta(hours=rng.uniform(2, 8))
        estimate = None if n % 9 == 0 else Decimal(rng.randint(200, 2000))
        total = (estimate or Decimal(800)) * Decimal(str(round(rng.uniform(0.8, 1.4), 2)))
        visits.append(
            Visit.objects.create(
                ro_number=f"RO-R-{n}",
                vehicle=(vehicle := rng.choice(vehicles)),
                customer=vehicle.owner,
                advisor=rng.choice([*advisors, None]),
                service_type="repair",
                status=Visit.Status.DELIVERED,
                checked_in_at=checked_in,
                promised_at=delivered,
                delivered_at=delivered,
                estimated_amount=estimate,
                labour_amount=total / 2,
                parts_amount=total / 2,
                total_amount=total,
            )
        )
    for visit in visits:
        for _ in range(rng.choice([0, 0, 1, 2])):
            requested = visit.checked_in_at + timedelta(minutes=rng.randint(20, 120))
            status = rng.choice(["approved", "approved", "declined", "deferred", "awaiting"])
            answered = (
                None if status == "awaiting" else requested + timedelta(minutes=rng.randint(1, 90))
            )
            item = WorkItem.objects.create(
                visit=visit,
                kind="extra",
                description="增项",
                labour_estimate=Decimal(rng.randint(0, 300)),
                parts_estimate=Decimal(rng.randint(0, 500)),
                urgency="recommended",
                status=status,
                requested_at=requested,
                answered_at=answered,
                answer_channel="" if answered is None else "status_page",
            )
            if status in ("declined", "deferred"):
                done = rng.random() < 0.4
                later = visit.delivered_at + timedelta(days=rng.randint(10, 250))
                Recommendation.objects.create(
                    vehicle=visit.vehicle,
                    item=item,
                    created_at=answered,
                    status="done" if done else "open",
                    done_visit=visit if done else None,
                    done_at=later if done else None,
                )
        for purpose in rng.sample(
            ["service_checked_in", "service_ready", "service_extra_work", "service_delivered"],
            rng.randint(0, 3),
        ):
            sent = {
                "service_checked_in": visit.checked_in_at + timedelta(minutes=5),
                "service_delivered": visit.delivered_at + timedelta(minutes=5),
            }.get(purpose, visit.checked_in_at + timedelta(hours=1))
            Message.objects.create(
                purpose=purpose,
                channel="sms",
                recipient=f"{visit.customer.phone}-{visit.pk}-{purpose}",
                object_key=f"visit:{visit.pk}:1",
                customer=visit.customer,
                visit=visit,
                body="…",
                status=Message.Status.SENT if rng.random() < 0.9 else Message.Status.FAILED,
                next_attempt_at=sent,
                sent_at=sent,
            )
    return visits


def expected(visits, start: date, end: date, advisor_id: int | None = None) -> dict:
    """The figures over the period; with ``advisor_id``, over that advisor's visits and the
    recommendations found on them."""

    def mine(visit):
        return advisor_id is None or visit.advisor_id == advisor_id

    since, until = at(start, 0), at(end + timedelta(days=1), 0)
    period = [v for v in visits if since <= v.delivered_at < until and mine(v)]
    items = [i for v in period for i in WorkItem.objects.filter(visit=v, kind="extra")]
    answered = [i for i in items if i.status in ("approved", "declined", "deferred")]
    minutes = [(i.answered_at - i.requested_at).total_seconds() / 60 for i in answered]
    with_estimate = [v for v in period if v.estimated_amount is not None]
    accurate = 0
    for v in with_estimate:
        extra = sum(
            (
                i.labour_estimate + i.parts_estimate
                for i in items
                if i.visit_id == v.pk and i.status == "approved"
            ),
            Decimal(0),
        )
        target = v.estimated_amount + extra
        accurate += abs(v.total_amount - target) <= target * Decimal("0.1")
    informed = 0
    for v in period:
        informed += any(
            m.purpose in ("service_ready", "service_extra_work", "service_promise_revised")
            and m.status == "sent"
            and v.checked_in_at <= m.sent_at <= v.delivered_at
            for m in Message.objects.filter(visit=v)
        )
    cutoff = until - timedelta(days=180)
    old = [r for r in Recommendation.objects.all() if r.created_at <= cutoff and mine(r.item.visit)]
    converted = [
        r for r in old if r.status == "done" and r.done_at <= r.created_at + timedelta(days=180)
    ]

    def share(a, b):
        return None if not b else a / b

    return {
        "extra_work_approval_rate": share(
            sum(i.status == "approved" for i in answered), len(answered)
        ),
        "approval_turnaround_minutes": statistics.median(minutes) if minutes else None,
        "estimate_accuracy_rate": share(accurate, len(with_estimate)),
        "progress_update_rate": share(informed, len(period)),
        "recommended_work_conversion_rate": share(len(converted), len(old)),
    }


@pytest.mark.parametrize(
    ("start", "end"),
    [(date(2025, 11, 21), TODAY), (date(2026, 9, 1), date(2026, 9, 30)), (TODAY, TODAY)],
)
def test_the_repair_figures_match_an_independent_computation(shop, start, end):
    client = APIClient()
    client.force_login(UserFactory(role="manager", username="manager-rf"))
    answer = client.get("/api/v1/reports/summary/", {"start": start, "end": end})
    assert answer.status_code == 200, answer.content
    got = answer.json()
    for name, value in expected(shop, start, end).items():
        if value is None:
            assert got[name] is None, name
        else:
            assert got[name] == pytest.approx(float(value), rel=1e-9), name


def test_each_advisor_s_repair_figures_match_an_independent_computation(shop):
    """The summary API filtered by advisor, and the dashboard's per-advisor table, each
    against the computation over that advisor's own visits."""
    start, end = date(2025, 11, 21), TODAY
    client = APIClient()
    client.force_login(UserFactory(role="manager", username="manager-rf"))
    by_advisor = metrics.repair_figures_by_advisor(metrics.Period(start=start, end=end))
    advisors = sorted({v.advisor for v in shop if v.advisor}, key=lambda user: user.pk)
    assert set(by_advisor) == {user.pk for user in advisors}
    for user in advisors:
        want = expected(shop, start, end, user.pk)
        answer = client.get(
            "/api/v1/reports/summary/", {"start": start, "end": end, "advisor": user.username}
        )
        assert answer.status_code == 200, answer.content
        for name, value in want.items():
            for got in (answer.json()[name], by_advisor[user.pk][name]):
                if value is None:
                    assert got is None, (user, name)
                else:
                    assert got == pytest.approx(float(value), rel=1e-9), (user, name)
    assert by_advisor[advisors[0].pk]["visits"] == sum(
        1 for v in shop if v.advisor == advisors[0] and v.delivered_at >= at(start, 0)
    )


def test_the_dashboard_s_advisor_table_and_its_export_show_those_figures(shop, client):
    start, end = date(2025, 11, 21), TODAY
    client.force_login(UserFactory(role="manager", username="manager-rf"))
    query = {"preset": "custom", "start": start, "end": end}
    page = client.get(reverse("reports:dashboard"), query).content.decode()
    table = page[
        page.index('id="advisor-repair"') : page.index(
            "</table>", page.index('id="advisor-repair"')
        )
    ]
    exported = client.get(reverse("reports:export_csv", args=["advisor_repair"]), query)
    lines = exported.content.decode("utf-8-sig").splitlines()
    for user in {v.advisor for v in shop if v.advisor}:
        want = expected(shop, start, end, user.pk)
        rate = want["extra_work_approval_rate"]
        shown = "—" if rate is None else f"{float(rate) * 100:.1f}%"
        row = table[table.index(person_name(user)) :].split("</tr>")[0]
        assert f'<td class="text-end">{shown}</td>' in row
        line = next(line for line in lines if line.startswith(person_name(user) + ","))
        assert line.split(",")[2] == ("" if rate is None else shown)


def test_each_repair_tile_opens_exactly_the_visits_behind_it(shop):
    from reports import metrics, selectors

    period = metrics.Period(start=date(2025, 11, 21), end=TODAY)
    since, until = at(period.start, 0), at(period.end + timedelta(days=1), 0)
    in_period = [v for v in shop if since <= v.delivered_at < until]
    items = WorkItem.objects.filter(visit__in=in_period, kind="extra")
    summary = metrics.summary(period)

    def behind(flag):
        return set(selectors.visits_behind(period, **{flag: True}).values_list("pk", flat=True))

    assert behind("extra_work_not_approved") == set(
        items.filter(status__in=["declined", "deferred"]).values_list("visit_id", flat=True)
    )
    assert behind("extra_work_answered") == set(
        items.exclude(status="awaiting").values_list("visit_id", flat=True)
    )
    with_estimate = [v for v in in_period if v.estimated_amount is not None]
    missed = len(with_estimate) - round(summary["estimate_accuracy_rate"] * len(with_estimate))
    assert len(behind("estimate_missed")) == missed
    assert behind("estimate_missed") <= {v.pk for v in with_estimate}
    silent = len(in_period) - round(summary["progress_update_rate"] * len(in_period))
    assert len(behind("no_progress_update")) == silent


def test_the_tiles_link_to_their_visits(shop, client):
    client.force_login(UserFactory(role="manager", username="manager-tiles"))
    page = client.get("/reports/", {"preset": "last_12_months"}).content.decode()
    for flag in ("extra_work_not_approved", "estimate_missed", "no_progress_update"):
        assert f"{flag}=1" in page
    rows = client.get("/reports/visits/", {"preset": "last_12_months", "estimate_missed": "1"})
    assert rows.status_code == 200
