"""The outbox: enqueue once per (purpose, recipient, object), send with bounded retries,
never in quiet hours (the shop calendar), and only when the contact rules allow it
(customers.contact: never to do-not-contact, consent for surveys and marketing) — asked when
the message is queued and again when it is sent."""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from customers.contact import address_for, may_contact, refusal_reason
from customers.models import Customer
from shopcalendar import selectors as calendar
from shopcrm.celery import enqueue_on_commit

from .backends import SendError, backend_for
from .models import Message

MAX_ATTEMPTS = 5
SEND_TASK = "messaging.tasks.send_message"


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
) -> tuple[Message | None, bool]:
    """(message, created). Nothing when the contact rules refuse ``contact_purpose`` (a
    customers.contact.Purpose) or the customer has no address on ``channel``. A second call
    for the same purpose, recipient and object creates nothing."""
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
    sweep sends whatever this misses). By the task's name: the tasks module imports this one."""
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


def message_send(*, message_id: int, now: datetime | None = None) -> str:
    """Send one due message. The row is taken with a conditional UPDATE, so two workers
    (or a retry racing a sweep) cannot both send it."""
    now = now or timezone.now()
    if not calendar.is_contact_time(now):  # quiet hours: the contact hours' complement
        Message.objects.filter(
            pk=message_id, status__in=[Message.Status.QUEUED, Message.Status.FAILED]
        ).update(next_attempt_at=calendar.next_contact_moment(now))
        return "deferred"
    taken = Message.objects.filter(
        pk=message_id,
        status__in=[Message.Status.QUEUED, Message.Status.FAILED],
        next_attempt_at__lte=now,
    ).update(status=Message.Status.SENDING)
    if not taken:
        return "skipped"
    message = Message.objects.select_related("customer").get(pk=message_id)
    refused = message.customer and refusal_reason(message.customer, message.contact_purpose)
    if refused:
        message.status, message.last_error = Message.Status.CANCELLED, refused
        message.save(update_fields=["status", "last_error"])
        return "cancelled"
    try:
        provider_id = backend_for(message.channel).send(message)
    except SendError as exc:
        message.attempts += 1
        message.last_error = str(exc)[:500]
        if exc.permanent or message.attempts >= MAX_ATTEMPTS:
            message.status = Message.Status.GAVE_UP
        else:
            message.status = Message.Status.FAILED
            message.next_attempt_at = now + timedelta(minutes=2**message.attempts)
        message.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
        return message.status
    message.attempts += 1
    message.status, message.sent_at, message.provider_message_id = (
        Message.Status.SENT,
        now,
        provider_id[:100],
    )
    message.save(update_fields=["attempts", "status", "sent_at", "provider_message_id"])
    return "sent"


def message_send_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Beat sweep: send what is due (retries, and anything a lost task left behind)."""
    now = now or timezone.now()
    stale_sending = now - timedelta(minutes=10)
    Message.objects.filter(status=Message.Status.SENDING, next_attempt_at__lt=stale_sending).update(
        status=Message.Status.FAILED
    )
    due = Message.objects.filter(
        status__in=[Message.Status.QUEUED, Message.Status.FAILED], next_attempt_at__lte=now
    ).values_list("pk", flat=True)[:limit]
    return sum(message_send(message_id=pk, now=now) == "sent" for pk in list(due))


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
            message.save(update_fields=["status", "last_error"])
            cancelled += 1
    return cancelled
