"""Writes of the API app itself: a sync batch under its Idempotency-Key, the pruning of old
keys, and the clients' tokens (the sync services live with the records they write)."""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from shopcrm.sync import BatchRejected

from .models import ApiToken, IdempotencyRecord

IDEMPOTENCY_KEEP_DAYS = 7


@dataclass(frozen=True)
class SyncAnswer:
    """What a sync request is answered: the view turns it into a response as it is."""

    status_code: int
    body: dict
    replayed: bool = False


def sync_batch_submit(
    *, client, endpoint: str, body: bytes, idempotency_key: str, sync
) -> SyncAnswer:
    """Apply one sync batch (``sync``: customers_sync, …) for ``client``.

    With an Idempotency-Key the first 200 answer is stored with the writes, in one
    transaction, and a retry gets it back without anything applied again; the same key with
    another body is a 422 (the IETF idempotency-key draft). Two concurrent requests with one
    key cannot both write: the unique (client, key) constraint refuses the second, whose
    writes roll back, and it answers with the first one's answer."""
    # Keys are stored as their SHA-256: any header value works, of any length.
    key = (
        hashlib.sha256(idempotency_key.encode("utf-8", "surrogatepass")).hexdigest()
        if idempotency_key
        else ""
    )
    digest = hashlib.sha256(body).hexdigest()
    if key:
        previous = IdempotencyRecord.objects.filter(client=client, key=key).first()
        if previous:
            return _replay(previous, digest)
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return SyncAnswer(400, {"detail": _("请求体不是有效的 JSON。")})
    try:
        with transaction.atomic():
            result = sync(payload=payload, by=client).as_dict()
            if key:
                IdempotencyRecord.objects.create(
                    client=client,
                    key=key,
                    endpoint=endpoint,
                    request_sha256=digest,
                    status_code=200,
                    response=result,
                )
    except BatchRejected as exc:
        return SyncAnswer(400, {"detail": exc.detail, "errors": exc.errors})
    except IntegrityError:
        # The same key was used by a concurrent request that committed first: everything
        # this one wrote is rolled back, and it answers with the first answer.
        previous = IdempotencyRecord.objects.filter(client=client, key=key).first()
        if key and previous:
            return _replay(previous, digest)
        raise
    return SyncAnswer(200, result)


def _replay(previous: IdempotencyRecord, digest: str) -> SyncAnswer:
    if previous.request_sha256 != digest:
        return SyncAnswer(422, {"detail": _("这个 Idempotency-Key 已用于另一个不同的请求体。")})
    return SyncAnswer(previous.status_code, previous.response, replayed=True)


def idempotency_records_prune(*, now=None, keep_days: int = IDEMPOTENCY_KEEP_DAYS) -> int:
    """A DMS retries within minutes or hours; a week of first answers is plenty. The
    retention sweep (privacy.services.retention_sweep) passes the administrator's period."""
    now = now or timezone.now()
    deleted, _by_model = IdempotencyRecord.objects.filter(
        created_at__lt=now - timedelta(days=keep_days)
    ).delete()
    return deleted


# ---------------------------------------------------------------- API tokens
# Stored only as their SHA-256 (api.models.ApiToken), checked by api.authentication.


def digest_of(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@transaction.atomic
def api_token_create(*, user, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user``: (the stored token, the key to show once)."""
    key = secrets.token_urlsafe(32)  # 256 random bits
    token = ApiToken.objects.create(
        user=user, digest=digest_of(key), prefix=key[:8], expires_at=expires_at
    )
    return token, key


@transaction.atomic
def api_token_rotate(*, user, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """The client's only token from now: every earlier one stops working at once."""
    ApiToken.objects.filter(user=user).delete()
    return api_token_create(user=user, expires_at=expires_at)
