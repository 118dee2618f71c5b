"""The outbox: enqueue once per (purpose, recipient, object), send with bounded retries,
never in quiet hours (the shop calendar), and only when the contact rules allow it
(customers.contact: never to do-not-contact, consent for surveys and marketing) — asked when
the message is queued and again when it is sent."""

import copy
import time
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.contact import address_for, may_contact, refusal_reason
from customers.models import Customer
from shopcalendar import selectors as calendar
from shopcrm.celery import enqueue_on_commit
from shopcrm.errors import DomainError

from . import events
from .backends import SendError, backend_for
from .models import REDACTED, Message  # noqa: F401 (REDACTED: re-exported)

MAX_ATTEMPTS = 5
# Longer than a send may take (the send task's time limit is 60 s): a claim older than this
# belongs to a sender that died, and the message is sent again.
CLAIM_EXPIRES = timedelta(minutes=5)
SEND_TASK = "messaging.tasks.send_message"
SEND_DUE_TASK = "messaging.tasks.send_due_messages"
# One run of the due-messages task sends for at most this long, then leaves the rest to the
# next run (the beat's, every minute): a backlog never holds a worker process for minutes.
SEND_DUE_SECONDS = 45.0
SEND_DUE_CHUNK = 200

# Set inside ``sent_in_one_batch``: the messages queued there wait for one send task.
_batch: ContextVar[list | None] = ContextVar("messaging_batch", default=None)


@contextmanager
def sent_in_one_batch():
    """Messages queued inside (a sweep's reminders or invitations: hundreds at once) are
    sent by one due-messages task after the commit, not by a task each: a thousand tasks
    on the embedded broker took minutes and held up every other task (issue 16, bug 4)."""
    created: list = []
    token = _batch.set(created)
    try:
        yield
    finally:
        _batch.reset(token)
    if created:
        enqueue_on_commit(SEND_DUE_TASK)


def message_enqueue(
    *,
    purpose: str,
    contact_purpose: str,
    customer: Customer,
    object_key: str,
    body: str,
    channel: str = Message.Channel.SMS,
    template_code: str = "",
    params: dict | None = None,
    secret_params: tuple[str, ...] = (),
    visit_id: int | None = None,
) -> tuple[Message | None, bool]:
    """(message, created). Nothing when the contact rules refuse ``contact_purpose`` (a
    customers.contact.Purpose) or the customer has no address on ``channel``. A second call
    for the same purpose, recipient and object creates nothing. The values of
    ``secret_params`` are blanked in the outbox once the message is sent."""
    if not may_contact(customer, contact_purpose):
        return None, False
    recipient = address_for(customer, channel)
    if not recipient:
        return None, False
    try:
        with transaction.atomic():
            message, created = Message.objects.get_or_create(
                purpose=purpose,
                recipient=recipient,
                object_key=object_key,
                defaults={
                    "channel": channel,
                    "contact_purpose": contact_purpose,
                    "customer": customer,
                    "body": body,
                    "template_code": template_code,
                    "params": params or {},
                    "secret_params": list(secret_params),
                    "visit_id": visit_id,
                    "next_attempt_at": timezone.now(),
                },
            )
    except IntegrityError:
        return Message.objects.get(
            purpose=purpose, recipient=recipient, object_key=object_key
        ), False
    if created:
        _send_after_commit(message)
    return message, created


def _send_after_commit(message: Message) -> None:
    """The fast path: the worker sends it as soon as the message is committed (the beat's
    sweep sends whatever this misses). By the task's name: the tasks module imports this one.
    Inside ``sent_in_one_batch`` the batch's one task sends it."""
    batch = _batch.get()
    if batch is not None:
        batch.append(message.pk)
        return
    enqueue_on_commit(SEND_TASK, message.pk)


def message_enqueue_staff(
    *, purpose: str, email: str, object_key: str, body: str
) -> tuple[Message | None, bool]:
    """An e-mail to a member of staff (an escalation, a reopened complaint): no customer,
    no consent rules, the same outbox and the same once-per-key guarantee."""
    try:
        with transaction.atomic():
            message, created = Message.objects.get_or_create(
                purpose=purpose,
                recipient=email,
                object_key=object_key,
                defaults={
                    "channel": Message.Channel.EMAIL,
                    "body": body,
                    "next_attempt_at": timezone.now(),
                },
            )
    except IntegrityError:
        return Message.objects.get(purpose=purpose, recipient=email, object_key=object_key), False
    if created:
        _send_after_commit(message)
    return message, created


def message_enqueue_transactional(
    *,
    purpose: str,
    phone: str,
    object_key: str,
    body: str,
    template_code: str = "",
    params: dict | None = None,
    secret_params: tuple[str, ...] = (),
) -> tuple[Message, bool]:
    """An SMS the person at ``phone`` has just asked for (the booking page's one-time code):
    no customer (the number may be nobody's yet), so no contact rules — it answers a
    request, it is not the shop reaching out. The same outbox, once per key; the values of
    ``secret_params`` are blanked once sent."""
    try:
        with transaction.atomic():
            message, created = Message.objects.get_or_create(
                purpose=purpose,
                recipient=phone,
                object_key=object_key,
                defaults={
                    "channel": Message.Channel.SMS,
                    "body": body,
                    "template_code": template_code,
                    "params": params or {},
                    "secret_params": list(secret_params),
                    "next_attempt_at": timezone.now(),
                },
            )
    except IntegrityError:
        return Message.objects.get(purpose=purpose, recipient=phone, object_key=object_key), False
    if created:
        _send_after_commit(message)
    return message, created


def message_send(*, message_id: int, now: datetime | None = None) -> str:
    """Send one due message. The row is taken with a conditional UPDATE that records the
    claim's time, so two workers (or a retry racing a sweep, or two beats) cannot both send
    it; a claim is taken again only once it has expired (a sender killed mid-send)."""
    now = now or timezone.now()
    waiting = Message.objects.filter(
        pk=message_id, status__in=[Message.Status.QUEUED, Message.Status.FAILED]
    )
    purpose = waiting.values_list("purpose", flat=True).first()
    if purpose is None:
        return "skipped"
    if not may_send_at(purpose, now):  # quiet hours (the "ready" message: shop hours too)
        waiting.update(next_attempt_at=next_send_moment(purpose, now), updated_at=now)
        return "deferred"
    taken = waiting.filter(next_attempt_at__lte=now).update(
        status=Message.Status.SENDING, claimed_at=now, updated_at=now
    )
    if not taken:
        return "skipped"
    message = Message.objects.select_related("customer").get(pk=message_id)
    refused = message.customer and refusal_reason(message.customer, message.contact_purpose)
    if refused:
        _finish(message, now, status=Message.Status.CANCELLED, last_error=refused)
        return "cancelled"
    try:
        provider_id, delivered_channel, note = _deliver(message, now)
    except _RefusedNow as exc:
        _finish(message, now, status=Message.Status.CANCELLED, last_error=str(exc))
        return "cancelled"
    except SendError as exc:
        attempts = message.attempts + 1
        if exc.permanent or attempts >= MAX_ATTEMPTS:
            status, retry_at = Message.Status.GAVE_UP, message.next_attempt_at
        else:
            status, retry_at = Message.Status.FAILED, now + timedelta(minutes=2**attempts)
        with transaction.atomic():
            finished = _finish(
                message,
                now,
                status=status,
                attempts=attempts,
                last_error=str(exc)[:500],
                next_attempt_at=retry_at,
            )
            if finished and status == Message.Status.GAVE_UP:
                events.message_gave_up.send(sender=Message, message=message)
        return status
    _finish(
        message,
        now,
        status=Message.Status.SENT,
        attempts=message.attempts + 1,
        sent_at=now,
        provider_message_id=provider_id[:100],
        delivered_channel=delivered_channel,
        **({"last_error": note[:500]} if note else {}),
        **_redacted(message),
    )
    return "sent"


class _RefusedNow(Exception):
    """The contact rules refuse the SMS fallback (asked again at the moment of sending)."""


def _deliver(message: Message, now: datetime) -> tuple[str, str, str]:
    """(provider's id, the channel that delivered it, why not the one asked for). A WeChat
    message WeChat will not deliver (not a follower, refused, no template, not configured:
    a permanent error, or the last try) goes by SMS at once, under the same rules."""
    try:
        return backend_for(message.channel).send(message), message.channel, ""
    except SendError as exc:
        last_try = exc.permanent or message.attempts + 1 >= MAX_ATTEMPTS
        if message.channel != Message.Channel.WECHAT or not last_try or not message.customer:
            raise
        note = f"{exc} → sms"
    customer = Customer.objects.get(pk=message.customer_id)  # as it is now
    refused = refusal_reason(customer, message.contact_purpose)
    if refused:
        raise _RefusedNow(f"{note}: {refused}")
    if not may_send_at(message.purpose, now):  # never in quiet hours, whatever the channel
        raise SendError(f"{note}: quiet hours")
    phone = address_for(customer, Message.Channel.SMS)
    if not phone:
        raise SendError(f"{note}: no mobile number", permanent=True)
    by_sms = copy.copy(message)
    by_sms.channel, by_sms.recipient = Message.Channel.SMS, phone
    try:
        provider_id = backend_for(Message.Channel.SMS).send(by_sms)
    except SendError as exc:
        raise SendError(f"{note}: {exc}", permanent=exc.permanent) from exc
    return provider_id, Message.Channel.SMS, note


def _finish(message: Message, claimed_at: datetime, **changes) -> bool:
    """Write the end of a send, only if this sender's claim still holds (a claim that
    expired and was taken again belongs to the other sender now)."""
    return bool(
        Message.objects.filter(
            pk=message.pk, status=Message.Status.SENDING, claimed_at=claimed_at
        ).update(claimed_at=None, updated_at=timezone.now(), **changes)
    )


def may_send_at(purpose: str, moment: datetime) -> bool:
    """Whether a message for ``purpose`` may go out at ``moment``: in the contact hours
    (quiet hours are their complement); a "ready for collection" message also in the
    shop's opening hours (Message.SHOP_HOURS_PURPOSES); a one-time code at any hour
    (Message.ANY_TIME_PURPOSES). Asked by the sender."""
    if purpose in Message.ANY_TIME_PURPOSES or calendar.is_contact_time(moment):
        return True
    return purpose in Message.SHOP_HOURS_PURPOSES and calendar.is_business_time(moment)


def next_send_moment(purpose: str, moment: datetime) -> datetime:
    """The first moment from ``moment`` on at which ``may_send_at`` says yes."""
    contact = calendar.next_contact_moment(moment)
    if purpose in Message.SHOP_HOURS_PURPOSES:
        return min(contact, calendar.next_business_moment(moment))
    return contact


def _redacted(message: Message) -> dict:
    """The body and parameters without the values of ``secret_params``."""
    if not message.secret_params:
        return {}
    body, params = message.without_secrets()
    return {"body": body, "params": params}


def message_send_due(
    *, now: datetime | None = None, budget_seconds: float = SEND_DUE_SECONDS
) -> int:
    """Send what is due (a batch's messages, retries, anything a lost task left behind), in
    chunks, for at most ``budget_seconds``; the beat runs it every minute. A claim older
    than CLAIM_EXPIRES (its sender died) is put back to be sent again. In quiet hours the
    due messages are deferred to the next contact moment in one statement."""
    fixed_now, now = now, now or timezone.now()
    expired = now - CLAIM_EXPIRES
    Message.objects.filter(
        Q(claimed_at__lt=expired) | Q(claimed_at__isnull=True, next_attempt_at__lt=expired),
        status=Message.Status.SENDING,
    ).update(status=Message.Status.FAILED, claimed_at=None, updated_at=now)
    due = Message.objects.filter(
        status__in=[Message.Status.QUEUED, Message.Status.FAILED], next_attempt_at__lte=now
    )
    if not calendar.is_contact_time(now):
        # Quiet hours: everything waits for the contact hours in one statement, except what
        # may go out now (a one-time code; the "ready" message in opening hours).
        shop_hours, any_time = list(Message.SHOP_HOURS_PURPOSES), list(Message.ANY_TIME_PURPOSES)
        waiting = due.exclude(purpose__in=any_time)
        waiting.exclude(purpose__in=shop_hours).update(
            next_attempt_at=calendar.next_contact_moment(now), updated_at=now
        )
        sendable = any_time  # the one-time codes, and in opening hours the "ready" message
        if calendar.is_business_time(now):
            sendable = any_time + shop_hours
        else:
            waiting.filter(purpose__in=shop_hours).update(
                next_attempt_at=next_send_moment(shop_hours[0], now), updated_at=now
            )
        due = due.filter(purpose__in=sendable)
    sent, last_pk = 0, 0
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        chunk = list(
            due.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:SEND_DUE_CHUNK]
        )
        if not chunk:
            break
        for pk in chunk:
            sent += message_send(message_id=pk, now=fixed_now or timezone.now()) == "sent"
            if time.monotonic() >= deadline:
                break
        last_pk = chunk[-1]
    return sent


def message_retry(*, message: Message, by) -> Message:
    """A manager sends a message that gave up again: five fresh tries, now (the contact
    rules are asked again when it is sent)."""
    with transaction.atomic():
        retried = Message.objects.filter(pk=message.pk, status=Message.Status.GAVE_UP).update(
            status=Message.Status.QUEUED,
            attempts=0,
            next_attempt_at=timezone.now(),
            last_error="",
        )
        if not retried:
            raise DomainError(_("这条消息不是“已放弃”状态，无需重发。"), code="not_gave_up")
        events.message_retried.send(sender=Message, message=message)
        _send_after_commit(message)
    message.refresh_from_db()
    return message


def message_cancel_refused(*, customer_ids) -> int:
    """Messages to these customers not yet sent (queued, or waiting to retry) that the
    contact rules now refuse are cancelled, with the reason (customers.events: in the
    transaction that withdrew the contact). The sender asks the rules again anyway."""
    cancelled = 0
    waiting = (
        Message.objects.filter(
            customer_id__in=customer_ids,
            status__in=[Message.Status.QUEUED, Message.Status.FAILED],
        )
        .select_related("customer")
        .select_for_update(of=("self",))
    )
    for message in waiting:
        refused = refusal_reason(message.customer, message.contact_purpose)
        if refused:
            message.status, message.last_error = Message.Status.CANCELLED, refused
            message.save(update_fields=["status", "last_error", "updated_at"])
            cancelled += 1
    return cancelled


def messages_cancel_unsent(*, message_ids, reason: str) -> int:
    """The messages among ``message_ids`` not yet sent (queued, or waiting to retry) are
    cancelled with ``reason`` (a campaign ended or cancelled). Sent ones stay as they are;
    one being sent right now finishes (its claim is the sender's)."""
    return Message.objects.filter(
        pk__in=list(message_ids), status__in=[Message.Status.QUEUED, Message.Status.FAILED]
    ).update(status=Message.Status.CANCELLED, last_error=reason[:200], updated_at=timezone.now())
