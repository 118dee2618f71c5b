"""Reads on customers and vehicles: the customer and vehicle half of the desk's one search
box (visits.selectors.desk_search adds the repair orders), and the customer page."""

import re
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.db.models.functions import Right

from shopcrm.roles import ADVISOR

from .models import Customer, Vehicle
from .validators import clean_plate_text, clean_vin_text, looks_like_plate, normalize_phone

SEARCH_LIMIT = 20


@dataclass
class SearchResults:
    query: str
    customers: list = field(default_factory=list)
    vehicles: list = field(default_factory=list)
    visits: list = field(default_factory=list)
    plate: str = ""  # the normalised plate when the query looks like one (for "new vehicle")
    vin: str = ""

    @property
    def empty(self) -> bool:
        return not (self.customers or self.vehicles or self.visits)


def _live_customers():
    return Customer.objects.filter(merged_into__isnull=True)


def search(*, query: str, limit: int = SEARCH_LIMIT) -> SearchResults:
    """Find customers and vehicles by plate, VIN (or its last 6), phone (or its last 4) or
    name (visits by RO number: visits.selectors.desk_search). Each shape of query uses an
    index; a name is matched by prefix (each lookup is limited, so a common surname stays
    fast)."""
    text = (query or "").strip()
    results = SearchResults(query=text)
    if not text:
        return results

    vehicle_q = Q(pk__in=[])
    customer_q = Q(pk__in=[])
    annotate_vin6 = annotate_phone4 = False

    plate = clean_plate_text(text)
    vin = clean_vin_text(text)
    digits = re.sub(r"[\s\-+]", "", text)

    if looks_like_plate(text):
        results.plate = plate
        vehicle_q |= Q(plate=plate)
    if len(vin) == 17:
        results.vin = vin
        vehicle_q |= Q(vin=vin)
    elif len(vin) == 6 and vin.isalnum() and vin.isascii():
        annotate_vin6 = True
        vehicle_q |= Q(vin_last6=vin)
    if re.fullmatch(r"[A-Z0-9]{4,8}", plate) and not results.plate:
        # Part of a plate typed without the province (A12345) or a plate tail.
        vehicle_q |= Q(plate__contains=plate)
    if digits.isdigit() and len(digits) == 4:
        annotate_phone4 = True
        customer_q |= Q(phone_last4=digits)
    elif digits.isdigit() and len(digits) >= 7:
        try:
            phone = normalize_phone(text)
        except ValidationError:
            phone = None
        if phone:
            customer_q |= Q(phone=phone) | Q(phone2=phone)
    if not digits.isdigit():
        customer_q |= Q(name__startswith=text)

    customers = _live_customers().filter(erased_at__isnull=True)  # erased: statistics only
    if annotate_phone4:
        customers = customers.annotate(phone_last4=Right("phone", 4))
    results.customers = list(
        customers.filter(customer_q).prefetch_related("vehicles").order_by("-pk")[:limit]
    )
    vehicles = Vehicle.objects.all()
    if annotate_vin6:
        vehicles = vehicles.annotate(vin_last6=Right("vin", 6))
    results.vehicles = list(
        vehicles.filter(vehicle_q).select_related("owner").order_by("-is_active", "plate")[:limit]
    )
    return results


def customer_find_by_phone(phone: str) -> Customer | None:
    """The live (not merged) customer who has this normalised phone, if any."""
    return _live_customers().filter(phone=phone).first()


def customer_get(*, pk: int) -> Customer:
    """A customer with vehicles, ready for the customer page (its visits:
    visits.selectors.visits_of_customer)."""
    return (
        Customer.objects.select_related("merged_into")
        .prefetch_related(
            Prefetch("vehicles", queryset=Vehicle.objects.order_by("-is_active", "plate")),
        )
        .get(pk=pk)
    )


def customer_list_for_api(*, filters: dict):
    """Customers for the read-back API, filtered by the validated query parameters."""
    queryset = Customer.objects.all()
    if filters.get("updated_since"):
        queryset = queryset.filter(updated_at__gt=filters["updated_since"])
    if filters.get("external_id"):
        queryset = queryset.filter(external_id=filters["external_id"])
    if filters.get("kind"):
        queryset = queryset.filter(kind=filters["kind"])
    if filters.get("do_not_contact") is not None:
        queryset = queryset.filter(do_not_contact=filters["do_not_contact"])
    return queryset


def vehicle_list_for_api(*, filters: dict):
    queryset = Vehicle.objects.select_related("owner")
    if filters.get("updated_since"):
        queryset = queryset.filter(updated_at__gt=filters["updated_since"])
    if filters.get("external_id"):
        queryset = queryset.filter(external_id=filters["external_id"])
    if filters.get("vin"):
        queryset = queryset.filter(vin=clean_vin_text(filters["vin"]))
    if filters.get("plate"):
        queryset = queryset.filter(plate=clean_plate_text(filters["plate"]))
    if filters.get("customer_external_id"):
        queryset = queryset.filter(owner__external_id=filters["customer_external_id"])
    return queryset


def advisor_choices():
    """Who may be a customer's own advisor: active members of staff in the advisor role
    (shopcrm.roles), in name order."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=ADVISOR)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )
