"""Who may see and do what with customers and vehicles, and loading them by id: pages,
forms with ``?customer=`` parameters, exports and the API call these."""

from followups.selectors import agent_holds_call_for
from shopcrm.access import find_for, has_perm, object_for, objects_for

from .models import Customer, Vehicle

VIEW = "customers.view_customer"
CREATE = "customers.add_customer"
CHANGE = "customers.change_customer"
VIEW_VEHICLE = "customers.view_vehicle"
ADD_VEHICLE = "customers.add_vehicle"
CHANGE_VEHICLE = "customers.change_vehicle"
REVEAL_PHONE = "customers.reveal_phone"
MERGE = "customers.merge_customer"


def can_reveal_phone(user, customer) -> bool:
    """Advisors and managers reveal any phone; agents only for the call they hold."""
    if has_perm(user, REVEAL_PHONE):
        return True
    return has_perm(user, "followups.work_queue") and agent_holds_call_for(
        user=user, customer=customer
    )


def can_merge(user) -> bool:
    return has_perm(user, MERGE)


def customer_for(user, pk, *, permission: str = VIEW, live: bool = False) -> Customer:
    """The customer ``pk`` (404 if none; ``live``: not merged away), if ``user`` may."""
    customers = Customer.objects.filter(merged_into__isnull=True) if live else Customer
    return object_for(user, customers, pk, permission=permission)


def customers_for(user, pks, *, permission: str = VIEW):
    """The customers among ``pks`` (a list's checked boxes), if ``user`` may."""
    return objects_for(user, Customer, pks, permission=permission)


def find_customer(user, pk, *, live: bool = False) -> Customer | None:
    customers = Customer.objects.filter(merged_into__isnull=True) if live else Customer
    return find_for(user, customers, pk, permission=VIEW)


def vehicle_for(user, pk, *, permission: str = VIEW_VEHICLE) -> Vehicle:
    return object_for(user, Vehicle.objects.select_related("owner"), pk, permission=permission)


def find_vehicle(user, pk) -> Vehicle | None:
    return find_for(user, Vehicle.objects.select_related("owner"), pk, permission=VIEW_VEHICLE)
