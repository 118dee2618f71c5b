"""The demo's campaigns (issue 19), made by seed_demo from the demo's own history: an ended
maintenance campaign whose calls booked and brought back some of its audience, and a recall
under way with part of its VIN list already done. Bulk inserts, a few hundred rows."""

import random
from collections import Counter
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.utils import timezone

from campaigns.models import Campaign, CampaignContact, CampaignVehicle
from campaigns.selectors import GRACE_DAYS
from campaigns.services import skip_reason
from customers.models import Customer, Vehicle
from followups import rules as followup_rules
from followups.models import FollowUpTask
from followups.sources import of_campaign_contact
from shopcalendar.rules import at, end_of
from visits.models import Appointment, ServiceType, Visit

Outcome, Status = FollowUpTask.Outcome, FollowUpTask.Status
AUDIENCE_SHARE = 0.03  # of the customers, in the maintenance campaign
RECALL_SHARE = 0.01  # listed cars, per customer of the shop (fewer when the model has fewer)
RECALL_DONE = 0.4


def seed_campaigns(now: datetime, stamped_as_given) -> int:
    """Both demo campaigns; the number of contacts made. ``stamped_as_given``: seed_demo's
    switch that keeps the given created times on bulk-created rows."""
    global _stamped
    _stamped = stamped_as_given
    manager = get_user_model().objects.filter(username="manager").first()
    today = timezone.localdate(now)
    return _maintenance(random.Random(1901), today, manager) + _recall(
        random.Random(1902), today, now, manager
    )


def _maintenance(rng: random.Random, today: date, manager) -> int:
    start = at(today - timedelta(days=75), time(9))
    campaign = Campaign.objects.create(
        name="秋季保养节（已结束）",
        kind=Campaign.Kind.MARKETING,
        audience=Campaign.Audience.LAST_VISIT,
        last_visit_from=today - timedelta(days=75 + 400),
        last_visit_to=today - timedelta(days=75 + 150),
        channel=Campaign.Channel.CALL,
        starts_at=start,
        ends_on=today - timedelta(days=45),
        status=Campaign.Status.ENDED,
        created_by=manager,
        audience_frozen_at=start,
        closed_at=end_of(today - timedelta(days=45)),
    )
    last_visits = {}
    for customer_id, vehicle_id, delivered in (
        Visit.objects.filter(status=Visit.Status.DELIVERED, delivered_at__lt=start)
        .order_by("delivered_at")
        .values_list("customer_id", "vehicle_id", "delivered_at")
    ):
        last_visits[customer_id] = (vehicle_id, timezone.localdate(delivered))
    chosen = [
        (customer_id, vehicle_id)
        for customer_id, (vehicle_id, day) in sorted(last_visits.items())
        if campaign.last_visit_from <= day <= campaign.last_visit_to
    ]
    total = max(1, round(Customer.objects.count() * AUDIENCE_SHARE))
    chosen = rng.sample(chosen, min(total, len(chosen)))
    came_back = set(
        Visit.objects.filter(
            customer_id__in=[customer_id for customer_id, _v in chosen],
            checked_in_at__gte=start,
            checked_in_at__lt=end_of(campaign.ends_on + timedelta(days=GRACE_DAYS)),
        ).values_list("customer_id", flat=True)
    )

    def outcome(customer_id):
        if customer_id in came_back:
            return rng.choice([Outcome.BOOKED, Outcome.BOOKED, Outcome.REACHED_SATISFIED])
        return rng.choice([Outcome.REACHED_SATISFIED, Outcome.NO_ANSWER, Outcome.BUSY])

    return _contacts(rng, campaign, chosen, outcome, start)


def _recall(rng: random.Random, today: date, now: datetime, manager) -> int:
    start = at(today - timedelta(days=30), time(9))
    active = Vehicle.objects.filter(is_active=True, owner__merged_into__isnull=True)
    model = Counter(active.values_list("model", flat=True)).most_common(1)
    if not model:
        return 0
    campaign = Campaign.objects.create(
        name=f"{model[0][0]} 转向节召回",
        kind=Campaign.Kind.RECALL,
        audience=Campaign.Audience.VIN_LIST,
        channel=Campaign.Channel.CALL,
        starts_at=start,
        ends_on=today + timedelta(days=60),
        status=Campaign.Status.RUNNING,
        created_by=manager,
        audience_frozen_at=start,
    )
    cars = list(active.filter(model=model[0][0]).order_by("pk").values_list("pk", "owner_id"))
    total = max(2, round(Customer.objects.count() * RECALL_SHARE))
    cars = sorted(rng.sample(cars, min(total, len(cars))))
    CampaignVehicle.objects.bulk_create(
        [
            CampaignVehicle(campaign=campaign, vehicle_id=pk, line=n + 2)
            for n, (pk, _o) in enumerate(cars)
        ]
    )
    owners = {}
    for vehicle_id, owner_id in cars:
        owners.setdefault(owner_id, vehicle_id)
    done = set(rng.sample(sorted(owners), round(len(owners) * RECALL_DONE)))
    _recall_visits(rng, [(owners[owner], owner) for owner in sorted(done)], today, start)

    def outcome(customer_id):
        if customer_id in done:
            return Outcome.BOOKED
        return rng.choice([Outcome.NO_ANSWER, "", ""])  # "": still in the queue

    return _contacts(rng, campaign, sorted(owners.items()), outcome, start, now=now)


def _recall_visits(rng: random.Random, cars: list, today: date, start: datetime) -> None:
    advisors = list(get_user_model().objects.filter(groups__name="advisor").order_by("pk"))
    visits, appointments = [], []
    for n, (vehicle_id, owner_id) in enumerate(cars):
        day = timezone.localdate(start) + timedelta(days=rng.randint(2, 29))
        checked_in = at(day, time(9)) + timedelta(minutes=rng.randint(0, 180))
        # The recall call booked it (the call's appointment, made on the day of the call).
        booked = start + timedelta(days=rng.randint(0, (day - start.date()).days - 1), hours=2)
        appointment = Appointment(
            customer_id=owner_id,
            vehicle_id=vehicle_id,
            scheduled_at=checked_in,
            service_type=ServiceType.RECALL,
            status=Appointment.Status.ARRIVED,
            source=Appointment.Source.PHONE,
            created_at=booked,
            updated_at=checked_in,
            status_changed_at=checked_in,
        )
        appointments.append(appointment)
        visits.append(
            Visit(
                ro_number=f"RC{day:%Y%m%d}{n:04d}",
                vehicle_id=vehicle_id,
                customer_id=owner_id,
                advisor=rng.choice(advisors) if advisors else None,
                service_type=ServiceType.RECALL,
                status=Visit.Status.DELIVERED,
                checked_in_at=checked_in,
                promised_at=checked_in + timedelta(hours=3),
                first_promised_at=checked_in + timedelta(hours=3),
                delivered_at=checked_in + timedelta(hours=rng.uniform(1.5, 3)),
                concern="厂家召回：转向节检查更换",
                estimated_amount=Decimal(0),
                labour_amount=Decimal(0),
                parts_amount=Decimal(0),
                total_amount=Decimal(0),
                by_appointment=True,
                appointment=appointment,
            )
        )
    with _stamped(Appointment):
        Appointment.objects.bulk_create(appointments)
    for visit in visits:
        visit.appointment_id = visit.appointment.pk
    Visit.objects.bulk_create(visits)


def _contacts(rng, campaign, chosen, outcome, start, now=None) -> int:
    """A contact per (customer, vehicle) of ``chosen``, skipped as the contact rules say,
    else with its call, closed with ``outcome(customer id)`` ("" leaves it waiting)."""
    customers = Customer.objects.in_bulk([customer_id for customer_id, _v in chosen])
    kind = FollowUpTask.Kind.CAMPAIGN if campaign.kind == "marketing" else FollowUpTask.Kind.RECALL
    contacts, tasks = [], []
    for customer_id, vehicle_id in chosen:
        contact = CampaignContact(
            campaign=campaign,
            customer_id=customer_id,
            vehicle_id=vehicle_id,
            skipped=skip_reason(campaign, customers[customer_id]),
            created_at=start,
            planned_at=start,
        )
        contacts.append(contact)
        if not contact.skipped:
            contact.task = _call(rng, campaign, kind, contact, outcome(customer_id), start, now)
            tasks.append(contact.task)
    with _stamped(FollowUpTask):
        FollowUpTask.objects.bulk_create(tasks, batch_size=2000)
    for contact in contacts:
        contact.task_id = contact.task.pk if contact.task else None
    with _stamped(CampaignContact):
        CampaignContact.objects.bulk_create(contacts, batch_size=2000)
    return len(contacts)


def _call(rng, campaign, kind, contact, outcome: str, start, now) -> FollowUpTask:
    dialled = start + timedelta(days=rng.randint(0, 6), hours=rng.uniform(0, 7))
    reached = outcome in FollowUpTask.REACHED
    task = FollowUpTask(
        created_at=start,
        updated_at=dialled if outcome else start,
        kind=kind,
        source_key=of_campaign_contact(campaign.pk, contact.customer_id).key,
        customer_id=contact.customer_id,
        vehicle_id=contact.vehicle_id,
        reason=f"{campaign.get_kind_display()}：{campaign.name}",
        priority=followup_rules.priority_of(kind),
        due_at=start,
        next_attempt_at=start if outcome else (now or start),
        expires_at=end_of(campaign.ends_on),
    )
    if outcome:
        task.status = Status.DONE if reached else Status.FAILED
        task.outcome, task.attempts, task.completed_at = outcome, 1 if reached else 3, dialled
    return task
