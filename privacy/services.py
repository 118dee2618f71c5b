"""Writes of personal-data protection (PIPL): erasing a customer, recording an access
export, and the retention sweep."""

import json
from datetime import datetime, timedelta
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import CharField, F, Q, TextField, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import IdempotencyRecord
from api.services import idempotency_records_prune
from customers.events import emit_contact_withdrawn
from customers.models import Customer, PhoneReveal
from messaging.models import Message
from shopcrm.errors import DomainError
from visits.models import WorkItemPhoto

from . import selectors
from .inventory import SCRUBS, Scrub
from .models import AccessExportRecord, ErasureRecord, RetentionPolicy, Via

ERASED_REASON = "personal data erased"  # the history row's reason, as the server writes them


@transaction.atomic
def _delete_photos(customer_ids) -> int:
    """The photos of work items on the customer's visits (a photo may show the plate, the
    car's contents or a face): the rows now, the files once the erasure has committed."""
    photos = WorkItemPhoto.objects.filter(item__visit__customer_id__in=customer_ids)
    stored = [(photo.image.storage, photo.image.name) for photo in photos if photo.image]
    deleted, _per_model = photos.delete()

    def remove_files():
        for storage, name in stored:
            storage.delete(name)

    transaction.on_commit(remove_files, robust=True)
    return deleted


def customer_erase(
    *, customer: Customer, by=None, via: str = Via.BROWSER, operator: str = ""
) -> ErasureRecord:
    """Anonymise ``customer`` everywhere (privacy.inventory.SCRUBS: the customer, the
    records merged into them, their vehicles' plates and VINs, every free text written
    about them, the history tables, the outbox, the phone reveals; admin log entries and
    stored API answers that name them) in one transaction, and record who did it.

    The customer becomes "已删除客户 #<id>", do-not-contact (their planned calls and
    messages are cancelled at once), with no phone, address or DMS number; their visits,
    answers and complaints stay with every id, date, score and amount, so no report figure
    moves. Erasing again does it again (harmlessly) and is recorded again."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.is_merged:
        raise DomainError(
            _("该客户已合并到客户 #%(pk)s，请删除合并后的客户。") % {"pk": customer.merged_into_id},
            code="erase_merged",
        )
    customer_ids = selectors.merged_customer_ids(customer)
    list(Customer.objects.select_for_update().filter(pk__in=customer_ids))
    external_id = customer.external_id or ""
    merged = [
        {"id": pk, "external_id": number}
        for pk, number in Customer.objects.filter(pk__in=customer_ids - {customer.pk})
        .order_by("pk")
        .values_list("pk", "external_id")
    ]
    addresses = selectors.customer_addresses(customer_ids)
    mentions = selectors.customer_mentions(customer_ids)

    # Contact withdrawn first: the queues cancel what was planned, then everything is wiped.
    Customer.objects.filter(pk__in=customer_ids).update(
        do_not_contact=True, marketing_consent=False, erased_at=timezone.now()
    )
    emit_contact_withdrawn(customer_ids=customer_ids)
    rows: dict[str, int] = {}
    for scrub in SCRUBS:
        rows.update(_scrub(scrub, customer_ids, addresses))
    rows[IdempotencyRecord._meta.label_lower] = _delete_mentions(mentions)
    rows[WorkItemPhoto._meta.label_lower] = _delete_photos(customer_ids)

    customer.refresh_from_db()
    customer._history_user = by
    customer._change_reason = ERASED_REASON
    customer.save()
    return ErasureRecord.objects.create(
        customer=customer,
        external_id=external_id,
        merged_customers=merged,
        erased_by=by,
        operator=operator[:150],
        via=via,
        rows={label: count for label, count in rows.items() if count},
    )


def _scrub(scrub: Scrub, customer_ids: set[int], addresses: set[str]) -> dict[str, int]:
    """One table (and its history): the customer's rows get the declared values."""
    model = scrub.model
    row_ids = list(scrub.rows(customer_ids, addresses).values_list("pk", flat=True))
    values = dict(scrub.values)
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        values["updated_at"] = timezone.now()  # the DMS's read-back (updated_since) sees it
    done = {scrub.label: model._base_manager.filter(pk__in=row_ids).update(**values)}
    _scrub_admin_log(model, row_ids)
    if scrub.history_owner is not None:
        history = scrub.history_rows(customer_ids, row_ids)
        values.pop("updated_at", None)
        done[history.model._meta.label_lower] = history.update(**values)
    return done


def _scrub_admin_log(model, row_ids: list[int]) -> None:
    """The Django admin's log names each object it changed (a customer by name, a message by
    recipient): those entries keep who and when, and name the object by its id."""
    if not row_ids or not apps.is_installed("django.contrib.admin"):
        return
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType

    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(model),
        object_id__in=[str(pk) for pk in row_ids],
    ).update(
        object_repr=Concat(Value("#"), F("object_id"), output_field=CharField()),
        change_message="",
    )


def _delete_mentions(terms: set[str]) -> int:
    """Stored API answers that quote the customer (a sync error names them) are deleted."""
    if not terms:
        return 0
    mentions = Q()
    for term in terms:
        # As PostgreSQL prints JSON (the characters), and as SQLite stores it (\u escapes).
        mentions |= Q(response_text__contains=term)
        mentions |= Q(response_text__contains=json.dumps(term)[1:-1])
    records = IdempotencyRecord.objects.annotate(
        response_text=Cast("response", output_field=TextField())
    ).filter(mentions)
    deleted, _by_model = IdempotencyRecord.objects.filter(
        pk__in=list(records.values_list("pk", flat=True))
    ).delete()
    return deleted


# ---------------------------------------------------------------- access requests


@transaction.atomic
def customer_data_export_record(*, customer: Customer, by, fmt: str) -> AccessExportRecord:
    """Record that ``by`` exported everything held about ``customer`` (in ``fmt``)."""
    if fmt not in AccessExportRecord.Format.values:
        raise DomainError(_("不支持的导出格式：%(format)s") % {"format": fmt}, code="bad_format")
    return AccessExportRecord.objects.create(customer=customer, exported_by=by, format=fmt)


# ---------------------------------------------------------------- retention


FINISHED_MESSAGES = (Message.Status.SENT, Message.Status.GAVE_UP, Message.Status.CANCELLED)


def retention_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Prune what the retention policy no longer keeps: the bodies and parameters of
    finished messages, phone reveals, login attempts, expired sessions and idempotency
    records. Running it again at once changes nothing."""
    now = now or timezone.now()
    policy = RetentionPolicy.current()

    def days_ago(days: int) -> datetime:
        return now - timedelta(days=days)

    return {
        "message_bodies": message_bodies_prune(before=days_ago(policy.message_body_days)),
        "phone_reveals": PhoneReveal.objects.filter(
            revealed_at__lt=days_ago(policy.phone_reveal_days)
        ).delete()[0],
        "login_attempts": login_attempts_prune(before=days_ago(policy.login_attempt_days)),
        "sessions": sessions_clear_expired(),
        "idempotency_records": idempotency_records_prune(
            now=now, keep_days=policy.idempotency_days
        ),
    }


def message_bodies_prune(*, before: datetime) -> int:
    """Finished messages created before ``before`` lose their text and parameters; the row
    (who, when, status, the once-per-key recipient) stays."""
    return (
        Message.objects.filter(created_at__lt=before, status__in=FINISHED_MESSAGES)
        .exclude(body="", params={})
        .update(body="", params={})
    )


def login_attempts_prune(*, before: datetime) -> int:
    """django-axes' records of logins and failed attempts older than ``before``."""
    if not apps.is_installed("axes"):
        return 0
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    return sum(
        model.objects.filter(attempt_time__lt=before).delete()[1].get(model._meta.label, 0)
        for model in (AccessAttempt, AccessLog, AccessFailureLog)
    )


def sessions_clear_expired() -> int:
    """Expired sessions, as ``manage.py clearsessions`` removes them (by the session
    engine); the number is of the database's rows."""
    expired = Session.objects.filter(expire_date__lt=timezone.now()).count()
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return expired
