"""Reads of the outbox."""

from .models import Message, SmsReply


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


def replies_to_read():
    """Customers' SMS replies nobody has acted on (a text that is not a command, or from a
    number no customer has), oldest first: for a person to read."""
    return (
        SmsReply.objects.filter(handled_at__isnull=True)
        .select_related("customer")
        .order_by("received_at", "pk")
    )


def replies_recent():
    """Every reply, newest first (the staff page's "all" view)."""
    return SmsReply.objects.select_related("customer", "handled_by").order_by("-received_at", "-pk")


def replies_to_read_count() -> int:
    return SmsReply.objects.filter(handled_at__isnull=True).count()


def replies_of_customer(*, customer, limit: int = 20) -> list:
    """The customer's latest SMS replies, for the customer page."""
    return list(
        SmsReply.objects.filter(customer=customer)
        .select_related("handled_by")
        .order_by("-received_at", "-pk")[:limit]
    )
