"""Writes of the API app itself (the sync services live with the records they write)."""

from datetime import timedelta

from django.utils import timezone

from .models import IdempotencyRecord

IDEMPOTENCY_KEEP_DAYS = 7


def idempotency_records_prune(*, now=None) -> int:
    """A DMS retries within minutes or hours; a week of first answers is plenty."""
    now = now or timezone.now()
    deleted, _by_model = IdempotencyRecord.objects.filter(
        created_at__lt=now - timedelta(days=IDEMPOTENCY_KEEP_DAYS)
    ).delete()
    return deleted
