"""Service messages about a visit (issue 17): checked in, promise revised, ready for
collection, delivered (the e-RO). Each goes through the outbox by the customer's preferred
channel (SMS when there is no address there), once per (event, visit, round): the outbox's
unique (purpose, recipient, object key) and a look for the key whatever the recipient.
The contact rules' SERVICE purpose decides who gets them (no marketing consent needed,
never do-not-contact, not to customers who turned them off), at queueing and at sending;
the sender keeps the quiet hours (messaging.services.may_send_at).

The visit events are the fast path; ``service_message_create_missing`` (the beat, every
minute) creates what they missed within the look-back."""

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Exists, OuterRef
from django.utils import timezone

from customers.contact import Purpose, contactable, may_contact, message_channel_for
from followups.selectors import next_services
from messaging.models import Message
from messaging.services import message_enqueue
from shopcrm.people import person_name
from visits.models import Visit
from visits.status import status_link_create

from .models import PARAMETERS, Event, MessageTemplate

FIRST_ROUND = 1


def object_key(visit_id: int, round_: int = FIRST_ROUND) -> str:
    return f"visit:{visit_id}:{round_}"


def _moment(value: datetime | None) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _money(value: Decimal | None) -> str:
    return f"{value:.2f}" if value is not None else ""


def parameters_for(event: str, visit: Visit, *, revision=None, item=None) -> dict:
    """The template parameters of ``event`` for ``visit`` (strings, in PARAMETERS' order)."""
    values = {"ro_number": visit.ro_number, "plate": visit.vehicle.plate}
    if event == Event.CHECKED_IN:
        phone = getattr(visit.advisor, "work_phone", None) if visit.advisor else None
        values.update(
            advisor=person_name(visit.advisor),
            advisor_phone=phone.phone if phone else "",
            promised_at=_moment(visit.promised_at),
            link=status_link_create(visit=visit),  # a new link per message that carries it
        )
    elif event == Event.PROMISE_REVISED:
        values.update(
            promised_at=_moment(getattr(revision, "to_promised_at", None) or visit.promised_at),
            reason=_reason(revision),
        )
    elif event == Event.EXTRA_WORK and item is not None:
        values.update(
            item=item.description,
            amount=_money(item.estimate),
            urgency=str(item.get_urgency_display()),
            link=status_link_create(visit=visit),
        )
    elif event == Event.READY:
        amount = visit.total_amount if visit.total_amount is not None else visit.estimated_amount
        values.update(amount=_money(amount))
    elif event == Event.DELIVERED:
        next_day = next_services(vehicles=[visit.vehicle]).get(visit.vehicle_id)
        values.update(
            labour=_money(visit.labour_amount),
            parts=_money(visit.parts_amount),
            total=_money(visit.total_amount),
            next_service=next_day.isoformat() if next_day else "",
        )
    return {name: values.get(name, "") for name in PARAMETERS[event]}


def revision_round(revision) -> int:
    """The round of a promise revision's message: the revision's id."""
    return revision.pk


def _reason(revision) -> str:
    if revision is None:
        return ""
    display = getattr(revision, "get_reason_display", None)
    return str(display() if callable(display) else getattr(revision, "reason", "") or "")


def service_message_create(
    *, event: str, visit_id: int, round_: int = FIRST_ROUND, revision=None, item=None
) -> Message | None:
    """Queue ``event``'s message for the visit, once per (event, visit, round). Nothing for
    a customer the contact rules refuse (SERVICE), or when the text has no template."""
    visit = (
        Visit.objects.select_related("customer", "vehicle", "advisor__work_phone")
        .filter(pk=visit_id)
        .first()
    )
    if visit is None:
        return None
    key = object_key(visit.pk, round_)
    existing = Message.objects.filter(purpose=event, object_key=key).first()
    if existing is not None:  # sent before, maybe to a number the customer has since changed
        return existing
    customer = visit.customer
    template = _template(event, customer.preferred_language)
    if template is None:
        return None
    params = parameters_for(event, visit, revision=revision, item=item)
    message, _created = message_enqueue(
        purpose=event,
        contact_purpose=Purpose.SERVICE,
        customer=customer,
        object_key=key,
        body=template.render(params),
        channel=message_channel_for(customer),
        template_code=template.sms_template_code,
        params=params,
        secret_params=("link",) if "link" in params else (),
        visit_id=visit.pk,
    )
    return message


def appointment_object_key(appointment) -> str:
    """appointment:<id>:<slot, local YYYYMMDDHHMM>: a message once per appointment and
    slot, so a rescheduled appointment gets its confirmation and reminder again."""
    slot = timezone.localtime(appointment.scheduled_at).strftime("%Y%m%d%H%M")
    return f"appointment:{appointment.pk}:{slot}"


def appointment_message_create(
    *, event: str, appointment, link_for: Callable[[], str]
) -> Message | None:
    """Queue a booking's confirmation or reminder (``event``), once per (event, appointment,
    slot) whatever the recipient; ``link_for`` makes the manage link (called only when the
    message is really made). The SERVICE contact rules decide, at queueing and sending."""
    key = appointment_object_key(appointment)
    existing = Message.objects.filter(purpose=event, object_key=key).first()
    if existing is not None:
        return existing
    customer = appointment.customer
    if not may_contact(customer, Purpose.SERVICE):
        return None
    template = _template(event, customer.preferred_language)
    if template is None:
        return None
    params = {
        "plate": appointment.vehicle.plate or appointment.vehicle.vin,
        "scheduled_at": _moment(appointment.scheduled_at),
        "service_type": str(appointment.get_service_type_display()),
        "link": link_for(),
    }
    message, _created = message_enqueue(
        purpose=event,
        contact_purpose=Purpose.SERVICE,
        customer=customer,
        object_key=key,
        body=template.render(params),
        channel=message_channel_for(customer),
        template_code=template.sms_template_code,
        params=params,
        secret_params=("link",),
    )
    return message


def _template(event: str, language: str) -> MessageTemplate | None:
    """The event's text in the customer's language, else in Chinese."""
    templates = {t.language: t for t in MessageTemplate.objects.filter(event=event)}
    return templates.get(language) or templates.get(settings.LANGUAGE_CODE)


def _missing(event: str, visits):
    return (
        visits.filter(contactable(Purpose.SERVICE, prefix="customer__"))
        .exclude(Exists(Message.objects.filter(purpose=event, visit_id=OuterRef("pk"))))
        .order_by("pk")
    )


def service_message_create_missing(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Beat sweep: the first-round messages the events did not queue, within the look-back
    (the post-service sweep's): check-in of visits still in the workshop, "ready" of cars
    waiting for collection, the e-RO of visits delivered. Customers the contact rules
    refuse are left out in the query (not tried every minute). Returns how many it made."""
    now = now or timezone.now()
    since = now - settings.SHOPCRM_DELIVERED_EVENT_LOOK_BACK
    wanted = {
        Event.CHECKED_IN: Visit.objects.filter(
            status__in=Visit.IN_WORKSHOP, checked_in_at__gte=since, checked_in_at__lte=now
        ),
        Event.READY: Visit.objects.filter(status=Visit.Status.READY, updated_at__gte=since),
        Event.DELIVERED: Visit.objects.filter(
            status=Visit.Status.DELIVERED, delivered_at__gte=since, delivered_at__lte=now
        ),
    }
    made = 0
    for event, visits in wanted.items():
        for pk in list(_missing(event, visits).values_list("pk", flat=True)[:limit]):
            made += service_message_create(event=event, visit_id=pk) is not None
    return made


def extra_work_messages_create_missing(*, now: datetime | None = None, limit: int = 500) -> int:
    """Beat sweep: the "extra work waiting for your answer" message of every item still
    waiting, put to the customer within the look-back, that has none (the event's fast path
    queues it on commit). One per item: the item's id is the round."""
    from visits.models import WorkItem

    now = now or timezone.now()
    since = now - settings.SHOPCRM_DELIVERED_EVENT_LOOK_BACK
    waiting = list(
        WorkItem.objects.filter(status=WorkItem.Status.AWAITING, requested_at__gte=since)
        .filter(contactable(Purpose.SERVICE, prefix="visit__customer__"))
        .order_by("pk")[:limit]
    )
    keys = {object_key(item.visit_id, item.pk) for item in waiting}
    made = set(
        Message.objects.filter(purpose=Event.EXTRA_WORK, object_key__in=keys).values_list(
            "object_key", flat=True
        )
    )
    waiting = [item for item in waiting if object_key(item.visit_id, item.pk) not in made]
    return sum(
        service_message_create(
            event=Event.EXTRA_WORK, visit_id=item.visit_id, round_=item.pk, item=item
        )
        is not None
        for item in waiting
    )


def promise_messages_create_missing(*, now: datetime | None = None, limit: int = 500) -> int:
    """Beat sweep: the "promise revised" message of each revision within the look-back of a
    car still in the workshop that has none (the event queues it on commit)."""
    from visits.models import PromiseRevision

    now = now or timezone.now()
    since = now - settings.SHOPCRM_DELIVERED_EVENT_LOOK_BACK
    revisions = list(
        PromiseRevision.objects.filter(at__gte=since, visit__status__in=Visit.IN_WORKSHOP)
        .filter(contactable(Purpose.SERVICE, prefix="visit__customer__"))
        .order_by("pk")[:limit]
    )
    keys = {object_key(revision.visit_id, revision.pk) for revision in revisions}
    made = set(
        Message.objects.filter(purpose=Event.PROMISE_REVISED, object_key__in=keys).values_list(
            "object_key", flat=True
        )
    )
    return sum(
        service_message_create(
            event=Event.PROMISE_REVISED,
            visit_id=revision.visit_id,
            round_=revision.pk,
            revision=revision,
        )
        is not None
        for revision in revisions
        if object_key(revision.visit_id, revision.pk) not in made
    )
