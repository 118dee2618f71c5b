"""Reads of the outbox."""

from .models import Message


def undelivered_messages():
    """Messages that gave up, newest first, for a manager to retry."""
    return Message.objects.filter(status=Message.Status.GAVE_UP).select_related("customer")


def undelivered_count() -> int:
    return Message.objects.filter(status=Message.Status.GAVE_UP).count()
