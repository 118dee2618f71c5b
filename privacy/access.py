"""Who may erase a customer or export everything held about them (managers and
administrators), and loading that customer by id."""

from customers.access import customer_for
from shopcrm.access import has_perm

ERASE = "privacy.erase_customer"
EXPORT = "privacy.export_customer_data"


def customer_to_erase(user, pk):
    return customer_for(user, pk, permission=ERASE, live=True)


def customer_to_export(user, pk):
    return customer_for(user, pk, permission=EXPORT, live=True)


def can_erase(user) -> bool:
    return has_perm(user, ERASE)


def can_export(user) -> bool:
    return has_perm(user, EXPORT)
