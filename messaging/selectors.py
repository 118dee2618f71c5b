"""Reads of the outbox."""

from .models import Message


def undelivered_messages():
    """Messages that gave up, newest first, for a manager to retry."""
    return Message.objects.filter(status=Message.Status.GAVE_UP).select_related("customer")


def undelivered_count() -> int:
    return Message.objects.filter(status=Message.Status.GAVE_UP).count()


def message_list_for_api(*, filters: dict):
    """The outbox for the read-back API (API.md): what was sent to customers, about which
    visit, newest changes last. Staff e-mails (no customer) are not the DMS's business."""
    queryset = Message.objects.filter(customer__isnull=False).select_related("customer", "visit")
    if filters.get("updated_since"):
        queryset = queryset.filter(updated_at__gt=filters["updated_since"])
    for name in ("purpose", "status"):
        if filters.get(name):
            queryset = queryset.filter(**{name: filters[name]})
    if filters.get("visit_external_id"):
        queryset = queryset.filter(visit__external_id=filters["visit_external_id"])
    if filters.get("customer_external_id"):
        queryset = queryset.filter(customer__external_id=filters["customer_external_id"])
    return queryset
