"""Reads for the desk: today's board and a visit with what its pages show."""

import re
from dataclasses import dataclass, field
from datetime import date

from django.db.models import Q
from django.utils import timezone

from customers.selectors import SEARCH_LIMIT, SearchResults, search
from shopcalendar.rules import day_span, end_of, start_of

from .models import Appointment, PromiseRevision, Visit
from .rules import next_step
from .workitems import awaiting_by_visit


@dataclass
class Board:
    day: date
    appointments: list = field(default_factory=list)
    columns: list = field(default_factory=list)  # [(status, label, [visits])]
    late_count: int = 0
    delivered: list = field(default_factory=list)  # delivered today, the latest first
    overdue_appointments: int = 0


def board_for_day(*, day: date | None = None) -> Board:
    """Today's board: appointments not yet arrived, and the workshop by state."""
    day = day or timezone.localdate()
    since, until = day_span(day, day)
    appointments = list(
        Appointment.objects.filter(
            status=Appointment.Status.BOOKED, scheduled_at__gte=since, scheduled_at__lt=until
        )
        .select_related("customer", "vehicle", "advisor")
        .order_by("scheduled_at")
    )
    in_workshop = list(
        Visit.objects.filter(status__in=Visit.IN_WORKSHOP)
        .select_related("vehicle", "customer", "advisor")
        .order_by("promised_at")
    )
    columns = []
    waiting = awaiting_by_visit([visit.pk for visit in in_workshop])
    now = timezone.now()
    for status in Visit.IN_WORKSHOP:
        visits = [v for v in in_workshop if v.status == status]
        for visit in visits:
            item = waiting.get(visit.pk)
            visit.awaiting_minutes = (
                max(0, int((now - item.requested_at).total_seconds() // 60)) if item else None
            )
            visit.next_step = next_step(status)
            visit.next_step_label = Visit.Status(visit.next_step).label if visit.next_step else ""
        columns.append((status, Visit.Status(status).label, visits))
    for appointment in appointments:
        late = now - appointment.scheduled_at
        appointment.overdue_minutes = (
            int(late.total_seconds() // 60) if late.total_seconds() > 0 else 0
        )
    delivered = list(
        Visit.objects.filter(
            status=Visit.Status.DELIVERED, delivered_at__gte=since, delivered_at__lt=until
        )
        .select_related("vehicle", "customer")
        .order_by("-delivered_at")
    )
    return Board(
        day=day,
        appointments=appointments,
        columns=columns,
        late_count=sum(1 for v in in_workshop if v.is_late),
        delivered=delivered,
        overdue_appointments=sum(1 for a in appointments if a.overdue_minutes),
    )


def desk_search(*, query: str, limit: int = SEARCH_LIMIT) -> SearchResults:
    """The desk's one search box: customers and vehicles (customers.selectors.search) and
    repair orders by RO number, with or without the "RO"."""
    results = search(query=query, limit=limit)
    text = results.query.replace(" ", "")
    digits = re.sub(r"[\s\-+]", "", results.query)
    if re.fullmatch(r"(?i)RO\d{6,}", text) or (digits.isdigit() and len(digits) >= 8):
        ro = text.upper()
        results.visits = list(
            Visit.objects.filter(Q(ro_number=ro) | Q(ro_number=f"RO{ro}"))
            .select_related("vehicle", "customer")
            .order_by("-checked_in_at")[:limit]
        )
    in_shop = open_visits_by_vehicle(vehicle_ids=[vehicle.pk for vehicle in results.vehicles])
    for vehicle in results.vehicles:
        vehicle.open_visit = in_shop.get(vehicle.pk)
    return results


def visits_of_customer(*, customer) -> list[Visit]:
    """The customer's visits, newest first, for their page."""
    return list(
        Visit.objects.filter(customer=customer)
        .select_related("vehicle", "advisor")
        .order_by("-checked_in_at")
    )


def visit_get(*, pk: int) -> Visit:
    return Visit.objects.select_related("vehicle", "customer", "advisor", "appointment").get(pk=pk)


def visit_list_for_api(*, filters: dict):
    """Visits for the read-back API; date ranges are whole days in the shop's time zone."""
    queryset = Visit.objects.select_related("vehicle", "customer", "advisor").prefetch_related(
        "promise_changes", "work_items"
    )
    if filters.get("updated_since"):
        queryset = queryset.filter(updated_at__gt=filters["updated_since"])
    for name in ("external_id", "ro_number", "status", "service_type"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    if filters.get("advisor"):
        queryset = queryset.filter(
            Q(advisor__username=filters["advisor"]) | Q(advisor_code=filters["advisor"])
        )
    if filters.get("vehicle_external_id"):
        queryset = queryset.filter(vehicle__external_id=filters["vehicle_external_id"])
    if filters.get("customer_external_id"):
        queryset = queryset.filter(customer__external_id=filters["customer_external_id"])
    for prefix, column in (("checked_in", "checked_in_at"), ("delivered", "delivered_at")):
        if filters.get(f"{prefix}_from"):
            queryset = queryset.filter(**{f"{column}__gte": start_of(filters[f"{prefix}_from"])})
        if filters.get(f"{prefix}_to"):
            end = end_of(filters[f"{prefix}_to"])
            queryset = queryset.filter(**{f"{column}__lt": end})
    return queryset


def open_visit_of(*, vehicle) -> Visit | None:
    """The vehicle's visit still in the workshop (one at a time: the check-in refuses a
    second), which the desk is told about as soon as the vehicle is picked."""
    if vehicle is None:
        return None
    return Visit.objects.filter(vehicle=vehicle, status__in=Visit.IN_WORKSHOP).first()


def open_visits_by_vehicle(*, vehicle_ids) -> dict:
    """vehicle id → its visit in the workshop, for a list of vehicles (the desk's search)."""
    return {
        visit.vehicle_id: visit
        for visit in Visit.objects.filter(
            vehicle_id__in=list(vehicle_ids), status__in=Visit.IN_WORKSHOP
        )
    }


def promise_revisions(*, visit: Visit) -> list[PromiseRevision]:
    """A visit's revised promises, oldest first, with who revised each (the visit page and
    the printed RO)."""
    return list(visit.promise_changes.select_related("by").order_by("at", "pk"))


def appointment_list_for_api(*, filters: dict):
    """Appointments for the read-back API (issue 18); the date range is whole days of the
    booked time, in the shop's time zone."""
    queryset = Appointment.objects.select_related("vehicle", "customer", "advisor")
    if filters.get("updated_since"):
        queryset = queryset.filter(updated_at__gt=filters["updated_since"])
    for name in ("external_id", "status", "source", "service_type"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    if filters.get("vehicle_external_id"):
        queryset = queryset.filter(vehicle__external_id=filters["vehicle_external_id"])
    if filters.get("customer_external_id"):
        queryset = queryset.filter(customer__external_id=filters["customer_external_id"])
    if filters.get("scheduled_from"):
        queryset = queryset.filter(scheduled_at__gte=start_of(filters["scheduled_from"]))
    if filters.get("scheduled_to"):
        queryset = queryset.filter(scheduled_at__lt=end_of(filters["scheduled_to"]))
    return queryset
