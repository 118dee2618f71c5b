"""The customer at a glance (issue 19): what the desk and the call need to know about a
customer before they speak, read from every app that holds a part of it. One selector, a
handful of queries whatever the customer's history (the template is
``templates/partials/customer_glance.html``: the customer page, the check-in form once a
customer is picked, the call screen).

It sits in ``workflows`` because it reads surveys, complaints, followups, bookings and
visits; the value tier is the one stored on the customer (reports' nightly refresh), not
recomputed here."""

from dataclasses import dataclass, field
from datetime import date, datetime

from django.utils import timezone

from bookings.selectors import upcoming_appointment
from complaints.models import Complaint
from customers.models import Customer, ValueTier
from followups.models import CallAttempt
from followups.selectors import next_services
from shopcrm.people import person_name
from surveys.models import SurveyResponse
from visits.models import Appointment, Recommendation

LAST_CALLS = 3
OPEN_COMPLAINTS = 3
RECOMMENDATIONS = 5


@dataclass
class NextService:
    day: date
    vehicle: object
    overdue: bool


@dataclass
class Glance:
    customer: Customer
    erased: bool = False
    tier: str = ""
    tier_label: str = ""
    tier_on: date | None = None
    advisor_name: str = ""
    last_response: SurveyResponse | None = None
    open_complaints: list[Complaint] = field(default_factory=list)
    open_complaint_count: int = 0
    last_calls: list[CallAttempt] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
    upcoming: Appointment | None = None
    next_service: NextService | None = None

    @property
    def is_vip(self) -> bool:
        return self.tier == ValueTier.VIP

    @property
    def empty(self) -> bool:
        """Nothing to tell beyond the customer's name: a new customer."""
        return not (
            self.tier
            or self.advisor_name
            or self.last_response
            or self.open_complaints
            or self.last_calls
            or self.recommendations
            or self.upcoming
            or self.next_service
        )


def customer_glance(*, customer: Customer, now: datetime | None = None) -> Glance:
    """The customer at a glance: value tier, their own advisor, the latest survey answer
    (CSI, NPS, alert), open complaints, the last dials and their outcomes, open
    recommendations, the next booked appointment and the predicted next service
    (followups.states, METRICS.md's rule). An erased customer (privacy) shows nothing:
    their calls, answers and complaints are anonymous statistics now."""
    if customer.erased_at is not None:
        return Glance(customer=customer, erased=True)
    now = now or timezone.now()
    glance = Glance(
        customer=customer,
        tier=customer.value_tier,
        tier_label=ValueTier(customer.value_tier).label if customer.value_tier else "",
        tier_on=customer.value_tier_on,
    )
    if customer.advisor_id:
        glance.advisor_name = person_name(customer.advisor)
    glance.last_response = (
        SurveyResponse.objects.filter(customer_id=customer.pk)
        .order_by("-submitted_at", "-pk")
        .only("pk", "csi", "nps_score", "nps_class", "is_alert", "submitted_at")
        .first()
    )
    complaints = list(
        Complaint.objects.filter(customer_id=customer.pk, status__in=Complaint.OPEN)
        .order_by("-received_at", "-pk")
        .only("pk", "number", "category", "status", "severity", "received_at")[
            : OPEN_COMPLAINTS + 1
        ]
    )
    glance.open_complaints = complaints[:OPEN_COMPLAINTS]
    glance.open_complaint_count = len(complaints)  # "3+" beyond the list
    glance.last_calls = list(
        CallAttempt.objects.filter(task__customer_id=customer.pk)
        .select_related("task")
        .only("pk", "ended_at", "outcome", "task__kind", "task__id")
        .order_by("-ended_at", "-pk")[:LAST_CALLS]
    )
    vehicles = {
        vehicle.pk: vehicle for vehicle in customer.vehicles.filter(is_active=True).order_by("pk")
    }
    if vehicles:
        glance.recommendations = list(
            Recommendation.objects.filter(
                vehicle_id__in=list(vehicles), status=Recommendation.Status.OPEN
            )
            .select_related("item")
            .order_by("-created_at")[:RECOMMENDATIONS]
        )
        for recommendation in glance.recommendations:
            recommendation.vehicle = vehicles[recommendation.vehicle_id]
        due = next_services(vehicles=list(vehicles.values()))
        if due:
            vehicle_id, day = min(due.items(), key=lambda pair: (pair[1], pair[0]))
            glance.next_service = NextService(
                day=day, vehicle=vehicles[vehicle_id], overdue=day < timezone.localdate(now)
            )
    glance.upcoming = upcoming_appointment(customer, now=now)
    return glance
