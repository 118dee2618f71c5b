"""Who may see and do what with customers and vehicles (pages and API call these)."""

from followups.selectors import agent_holds_call_for
from shopcrm.access import has_perm

VIEW = "customers.view_customer"
CREATE = "customers.add_customer"
CHANGE = "customers.change_customer"
ADD_VEHICLE = "customers.add_vehicle"
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
