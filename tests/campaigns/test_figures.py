"""The progress page's figures (campaigns.selectors.figures) against an independent
computation written here from their definitions (docs/decisions.md, "Campaigns"), on a
randomised campaign: calls dialled and reached, messages sent, appointments and visits before,
inside and after the windows, cancelled visits, several visits per customer."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest

from campaigns import selectors, services
from campaigns.models import CampaignContact, CampaignVehicle
from followups.models import FollowUpTask
from messaging.models import Message
from shopcalendar.rules import end_of
from tests.campaigns.helpers import NOW, TODAY, campaign, customer_with_car
from tests.factories import AppointmentFactory, VehicleFactory, VisitFactory
from visits.models import Appointment, Visit

pytestmark = pytest.mark.django_db
OUTCOMES = ["", "no_answer", "busy", "reached_satisfied", "reached_issue", "booked", "refused"]
MESSAGE_STATES = ["queued", "sent", "failed", "gave_up", "cancelled"]


def _simulate(rng: random.Random, marketing) -> None:
    """What happened after the campaign started, at random."""
    for contact in CampaignContact.objects.filter(campaign=marketing).select_related("vehicle"):
        if contact.task_id:
            outcome = rng.choice(OUTCOMES)
            FollowUpTask.objects.filter(pk=contact.task_id).update(
                attempts=0 if not outcome else rng.randint(1, 3), outcome=outcome
            )
        if contact.message_id:
            Message.objects.filter(pk=contact.message_id).update(status=rng.choice(MESSAGE_STATES))
        for _n in range(rng.randint(0, 2)):
            appointment = AppointmentFactory(vehicle=contact.vehicle, customer=contact.customer)
            created = NOW + timedelta(days=rng.randint(-5, 40), hours=rng.random())
            Appointment.objects.filter(pk=appointment.pk).update(created_at=created)
        for _n in range(rng.randint(0, 3)):
            checked_in = NOW + timedelta(days=rng.randint(-5, 55), hours=rng.random())
            status = rng.choice(["delivered", "delivered", "cancelled", "in_progress"])
            VisitFactory(
                vehicle=contact.vehicle,
                status=status,
                checked_in_at=checked_in,
                delivered_at=checked_in + timedelta(hours=3) if status == "delivered" else None,
                total_amount=Decimal(rng.randint(100, 3000)),
            )


def _expected(marketing) -> dict:
    """The figures, row by row in Python."""
    booked_until = end_of(marketing.ends_on)
    arrived_until = end_of(marketing.ends_on + timedelta(days=selectors.GRACE_DAYS))
    counts = dict.fromkeys(
        ["audience", "skipped", "planned", "contacted", "reached", "booked", "arrived"], 0
    )
    revenue = Decimal("0")
    for contact in CampaignContact.objects.filter(campaign=marketing):
        task = FollowUpTask.objects.filter(pk=contact.task_id).first()
        message = Message.objects.filter(pk=contact.message_id).first()
        sent = message is not None and message.status == "sent"
        contacted = (task is not None and task.attempts > 0) or sent
        reached = (task is not None and task.outcome in FollowUpTask.REACHED) or sent
        appointments = [
            a
            for a in Appointment.objects.filter(customer_id=contact.customer_id)
            if contact.created_at <= a.created_at < booked_until
        ]
        visits = [
            v
            for v in Visit.objects.filter(customer_id=contact.customer_id)
            if v.status != "cancelled" and contact.created_at <= v.checked_in_at < arrived_until
        ]
        counts["audience"] += 1
        counts["skipped"] += contact.skipped != ""
        counts["planned"] += task is not None or message is not None
        counts["contacted"] += contacted
        counts["reached"] += reached
        counts["booked"] += contacted and bool(appointments)
        counts["arrived"] += contacted and bool(visits)
        if contacted:
            revenue += sum((v.total_amount for v in visits if v.status == "delivered"), Decimal(0))
    return {**counts, "revenue": revenue}


@pytest.mark.parametrize("seed", [3, 11])
def test_the_figures_match_an_independent_computation(seed):
    rng = random.Random(seed)
    for n in range(30):
        customer_with_car(
            marketing_consent=rng.random() < 0.7,
            do_not_contact=rng.random() < 0.1,
            phone=f"+86137{seed:02d}{n:06d}",
        )
    marketing = campaign(channel=rng.choice(["call", "message", "both"]))
    services.campaigns_run()
    _simulate(rng, marketing)
    found = selectors.figures(marketing)
    expected = _expected(marketing)
    assert {name: getattr(found, name) for name in expected} == expected
    assert expected["contacted"] > 0 and expected["arrived"] > 0  # the test means something
    # The drill-down lists the same rows as each figure counts.
    for state in ("skipped", "contacted", "reached", "booked", "arrived"):
        assert selectors.contacts(marketing, state).count() == expected[state]


def test_the_recall_close_rate_counts_recall_visits_delivered_after_the_start():
    recall = campaign(kind="recall", audience="vin_list")
    cars = [VehicleFactory() for _ in range(4)]
    for line, car in enumerate(cars, start=1):
        CampaignVehicle.objects.create(campaign=recall, vehicle=car, line=line)

    def visit(car, *, days, service_type="recall", status="delivered"):
        moment = NOW + timedelta(days=days)
        VisitFactory(
            vehicle=car,
            service_type=service_type,
            status=status,
            checked_in_at=moment - timedelta(hours=2),
            delivered_at=moment if status == "delivered" else None,
        )

    visit(cars[0], days=3)  # closed
    visit(cars[1], days=-3)  # before the start: not this recall
    visit(cars[2], days=3, service_type="maintenance")  # not the recall
    visit(cars[3], days=3, status="in_progress")  # not delivered yet
    visit(cars[3], days=90)  # long after the end: still closed
    figures = selectors.figures(recall)
    assert (figures.recall_closed, figures.recall_vehicles) == (2, 4)
    assert figures.recall_close_rate == 0.5
    assert TODAY  # frozen at noon (helpers)


def test_a_contact_whose_customer_was_merged_counts_the_merged_records():
    from customers.services import customer_merge

    owner, car = customer_with_car()
    marketing = campaign(channel="call", message_template="")
    services.campaigns_run()
    FollowUpTask.objects.filter(kind="campaign").update(attempts=1, outcome="booked")
    duplicate, _car = customer_with_car(model="帕萨特")  # the same person, entered twice
    customer_merge(source=owner, target=duplicate)
    checked_in = NOW + timedelta(days=2)
    VisitFactory(
        vehicle=car,
        customer=duplicate,
        status="delivered",
        checked_in_at=checked_in,
        delivered_at=checked_in + timedelta(hours=2),
        total_amount=Decimal("880.00"),
    )
    figures = selectors.figures(marketing)
    assert (figures.audience, figures.contacted, figures.arrived) == (1, 1, 1)
    assert figures.revenue == Decimal("880.00")
