"""A member of staff reads only their own digests: another user's day is not found (404)."""

from datetime import date

from django.http import Http404

from .models import Digest


def parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def own_digest_or_404(user, day: date) -> Digest:
    digest = Digest.objects.filter(recipient=user, day=day).first()
    if digest is None:
        raise Http404
    return digest
