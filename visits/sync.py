"""DMS sync of repair orders (visits): the same record rules as the browser, one set-based
upsert per batch, and the "visit delivered" event for recent deliveries."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer, Vehicle
from customers.validators import ODOMETER_MAX_KM
from shopcalendar.rules import check_day
from shopcrm import bulk, sync
from shopcrm.errors import DomainError
from shopcrm.sync import Record, SyncResult, refuse_duplicates_in_batch, write_batch

from . import workitems
from .events import emit_visit_checked_in, emit_visit_delivered, emit_visit_ready
from .models import Appointment, Visit, WorkItem
from .services import CHECKLIST_DETAILS, customer_advisor_from_first_visit


def _delivery_times_in_order(record: Record, values: dict) -> None:
    delivered_without_time = (
        values["status"] == Visit.Status.DELIVERED and values["delivered_at"] is None
    )
    if delivered_without_time and "delivered_at" not in record.errors:
        record.error("delivered_at", _("已交车的工单必须有交车时间。"))
    checked_in, delivered = values["checked_in_at"], values["delivered_at"]
    if checked_in and delivered and delivered < checked_in:
        record.error("delivered_at", _("交车时间不能早于接车时间。"))
    if checked_in and values["promised_at"] and values["promised_at"] < checked_in:
        record.error("promised_at", _("承诺交车时间不能早于接车时间。"))
    _checklist_with_delivery(record, values)


def _checklist_with_delivery(record: Record, values: dict) -> None:
    """The delivery checklist comes with a delivery, by the deliver form's rules: advice
    given names the next service (a date, km or both), a date not before the delivery."""
    ticked = [name for name in Visit.CHECKLIST if values[name]]
    on, km = (values[name] for name in CHECKLIST_DETAILS)
    if (ticked or on or km is not None) and values["status"] != Visit.Status.DELIVERED:
        record.error(
            (ticked or ["next_service_advised_on"])[0], _("只有已交车的工单才有交车检查。")
        )
        return
    if values["checklist_next_service_advised"] and on is None and km is None:
        record.error("next_service_advised_on", _("已告知下次保养时，请填写建议日期或里程。"))
    delivered = values["delivered_at"]
    if on and delivered and on < timezone.localdate(delivered):
        record.error("next_service_advised_on", _("建议下次保养日期不能早于交车日期。"))


KEEP_STORED_IF_LEFT_OUT = "COALESCE(excluded.{name}, t.{name})"

VISIT_RECORD = sync.Declaration(
    Visit,
    sync.Text("external_id", required=True),
    sync.Text("ro_number", required=True),
    sync.Reference("vehicle_external_id", Vehicle, required=True),
    sync.Reference("customer_external_id", Customer),
    # A username, else a DMS staff code kept as text in advisor_code.
    sync.Text(
        "advisor",
        max_length=Visit.advisor_code.field.max_length,
        written=False,
        help_text=gettext_lazy("用户名或顾问代码"),
    ),
    sync.Choice("service_type", required=True),
    sync.Choice("status", required=True),
    sync.Moment("checked_in_at", required=True, check=check_day),
    sync.Moment("promised_at", check=check_day),
    sync.Moment("delivered_at", help_text=gettext_lazy("已交车时必填"), check=check_day),
    sync.Integer("odometer_km", minimum=0, maximum=ODOMETER_MAX_KM),
    sync.Boolean("by_appointment"),
    sync.Text("concern", max_length=4000),
    sync.Money("labour_amount"),
    sync.Money("parts_amount"),
    sync.Money("total_amount"),
    # The delivery checklist (交车检查), when the DMS delivers the car: a tick stays ticked
    # (the desk's too), and advice left out keeps what is stored.
    *(
        sync.Boolean(name, on_update=sync.STICKY_TRUE, help_text=gettext_lazy("交车检查项"))
        for name in Visit.CHECKLIST
    ),
    sync.Day("next_service_advised_on", on_update=KEEP_STORED_IF_LEFT_OUT),
    sync.Integer(
        "next_service_advised_km",
        minimum=0,
        maximum=ODOMETER_MAX_KM,
        on_update=KEEP_STORED_IF_LEFT_OUT,
    ),
    sync.Moment("source_updated_at", check=check_day),
    # Resolved from the references and the advisor.
    derived=[
        bulk.Column("vehicle_id"),
        bulk.Column("customer_id"),
        bulk.Column("advisor_id"),
        bulk.Column("advisor_code"),
        # Set once: a stored first promise stays; a visit without one takes the DMS's.
        bulk.Column(
            "first_promised_at",
            on_update="COALESCE(t.{name}, excluded.{name})",
            compare=False,
        ),
        # When the checklist was recorded: the desk's time stays, else the DMS's delivery.
        bulk.Column("checklist_at", on_update="COALESCE(t.{name}, excluded.{name})", compare=False),
    ],
    # Written by the desk only; a synced visit starts with them empty.
    # (A synced visit has no promise revision recorded here: a promise the DMS moves
    # counts as revised, visits.rules.REVISED. Its delivery checklist is the fields above.)
    insert_only={"walkaround_notes": "", "odometer_lower_confirmed": False, "cancel_reason": ""},
    clean=_delivery_times_in_order,
)


def _vehicles_and_customers(live: list[Record]) -> tuple[dict, dict]:
    """The records' vehicles ({external id: (id, owner id)}) and customers ({external id:
    id}) by the DMS's ids, one query each."""
    vehicles = {
        external_id: (pk, owner_id)
        for external_id, pk, owner_id in bulk.lookup(
            Vehicle,
            "external_id",
            [r.values["vehicle_external_id"] for r in live],
            ["id", "owner_id"],
        )
    }
    customers = dict(
        bulk.lookup(
            Customer,
            "external_id",
            [r.values["customer_external_id"] for r in live if r.values["customer_external_id"]],
            ["id"],
        )
    )
    return vehicles, customers


def _resolve_references(records: list[Record]) -> None:
    """Vehicles and customers by the DMS's ids; advisors by username, else kept as text."""
    live = [r for r in records if r.ok]
    vehicles, customers = _vehicles_and_customers(live)
    advisors = dict(
        get_user_model()
        .objects.filter(username__in={r.values["advisor"] for r in live if r.values["advisor"]})
        .values_list("username", "id")
    )
    for record in live:
        values = record.values
        vehicle = vehicles.get(values["vehicle_external_id"])
        if vehicle is None:
            record.error("vehicle_external_id", _("没有这个 external_id 的车辆。"))
            continue
        values["vehicle_id"], values["customer_id"] = vehicle
        if values["customer_external_id"]:
            values["customer_id"] = customers.get(values["customer_external_id"])
            if values["customer_id"] is None:
                record.error("customer_external_id", _("没有这个 external_id 的客户。"))
        values["advisor_id"] = advisors.get(values["advisor"])
        values["advisor_code"] = "" if values["advisor_id"] else values["advisor"]
        # The DMS's first promise is the visit's first (kept when it later moves it).
        values["first_promised_at"] = values["promised_at"]
        # A checklist the DMS sends was recorded at the delivery (the desk's time stays).
        sent_checklist = any(values[name] for name in Visit.CHECKLIST) or any(
            values[name] is not None for name in CHECKLIST_DETAILS
        )
        values["checklist_at"] = values["delivered_at"] if sent_checklist else None


def _ro_number_taken(records: list[Record]) -> None:
    by_ro = {r.values["ro_number"]: r for r in records if r.ok}
    for ro_number, external_id in bulk.lookup(Visit, "ro_number", by_ro, ["external_id"]):
        if external_id != by_ro[ro_number].values["external_id"]:
            by_ro[ro_number].error("ro_number", _("该工单号已属于另一张工单。"))


def visits_sync(*, payload, by, now=None) -> SyncResult:
    """Upsert a batch of DMS repair orders keyed by external_id (API.md, "visits").

    A visit that becomes delivered (or ready, or is new and checked in) here fires the same
    event as the browser, unless that happened longer ago than the look-back: history does
    not trigger calls or messages."""
    records = VISIT_RECORD.parse(payload)
    now = now or timezone.now()
    refuse_duplicates_in_batch(records, "ro_number", _("该工单号已用于本批第 %(index)s 条记录。"))
    _resolve_references(records)
    was = dict(
        bulk.lookup(
            Visit, "external_id", [r.values["external_id"] for r in records if r.ok], ["status"]
        )
    )
    look_back = now - settings.SHOPCRM_DELIVERED_EVENT_LOOK_BACK

    def fire_events(valid: list[Record], outcome: bulk.UpsertOutcome) -> None:
        # In the batch's transaction: a customer's first visit gives them their advisor.
        customer_advisor_from_first_visit(
            customer_ids={r.values["customer_id"] for r in valid if r.values.get("customer_id")}
        )
        written = {**outcome.created, **outcome.updated}
        for record in valid:
            visit_id = written.get(record.values["external_id"])
            if visit_id:
                _fire_visit_events(visit_id, record.values, was, look_back, now)

    return write_batch(
        VISIT_RECORD,
        records,
        now=now,
        by=by,
        checks=[_ro_number_taken],
        after_write=fire_events,
    )


def _fire_visit_events(visit_id: int, values: dict, was: dict, look_back, now) -> None:
    """The desk's events for a synced visit whose status changed here (history older than
    the look-back sends nothing): "checked in" for a new visit in the workshop checked in
    within it, "ready" when it became ready (the DMS's change time, else now, within it),
    "delivered" when it became delivered within it."""
    status, before = values["status"], was.get(values["external_id"])
    if status == before:
        return
    recent = {
        Visit.Status.DELIVERED: values["delivered_at"] and values["delivered_at"] >= look_back,
        Visit.Status.READY: (values["source_updated_at"] or now) >= look_back,
    }.get(status, before is None and values["checked_in_at"] >= look_back)
    if not recent:
        return
    if status == Visit.Status.DELIVERED:
        emit_visit_delivered(visit_id=visit_id, source="dms")
    elif status == Visit.Status.READY:
        emit_visit_ready(visit_id=visit_id, source="dms")
    elif status in Visit.IN_WORKSHOP:
        emit_visit_checked_in(visit_id=visit_id, source="dms")


# ---------------------------------------------------------------- extra work (增项)

ANSWER_CHOICES = tuple((value, WorkItem.Status(value).label) for value in WorkItem.ANSWERED)
# The answered_at the DMS sends may run ahead of this server's clock by this much.
CLOCK_SKEW = timedelta(minutes=5)


def _answer_needs_answer(record: Record, values: dict) -> None:
    if values["answered_at"] and not values["answer"] and "answer" not in record.errors:
        record.error("answered_at", _("有答复时间就必须有答复（answer）。"))


# Written by the advisor's services (visits.workitems: extra_work_request and
# extra_work_answer), not by an upsert: the same checks, the same service message and the
# same recommendations. The declaration gives the shape check, the parsing and the schema.
WORK_ITEM_RECORD = sync.Declaration(
    WorkItem,
    sync.Text("external_id", required=True),
    sync.Reference("visit_external_id", Visit, required=True),
    sync.Text("description", required=True),
    sync.Money("labour_estimate", required=True),
    sync.Money("parts_estimate", required=True),
    sync.Choice("urgency", required=True),
    sync.Moment(
        "requested_at", check=check_day, help_text=gettext_lazy("DMS 记录增项的时间；默认为收到时")
    ),
    sync.Choice(
        "answer",
        choices=ANSWER_CHOICES,
        written=False,
        help_text=gettext_lazy("客户的答复；一经记录不能更改"),
    ),
    sync.Moment("answered_at", check=check_day, help_text=gettext_lazy("默认为收到时")),
    sync.Moment("source_updated_at", check=check_day),
    clean=_answer_needs_answer,
)
# What the customer was asked: fixed once the item is put to them (a change is a new item).
ITEM_TERMS = ("description", "labour_estimate", "parts_estimate", "urgency")


def work_items_sync(*, payload, by, now=None) -> SyncResult:
    """Extra work the DMS recorded on its repair orders (API.md, "work-items"), keyed by
    external_id. A new item goes through extra_work_request (the customer's "extra work
    waiting for approval" message, the status page); an answer through extra_work_answer
    with the channel "dms". Each record is written in its own savepoint: an item with an
    answer that is refused is not written either. A row older than the stored one
    (source_updated_at) is ignored; the same answer again changes nothing; another answer
    to an answered item is an error for that record."""
    records = WORK_ITEM_RECORD.parse(payload)
    now = now or timezone.now()
    result = SyncResult()
    live = [r for r in records if r.ok]
    visits = dict(
        bulk.lookup(Visit, "external_id", [r.values["visit_external_id"] for r in live], ["id"])
    )
    # Item rows in external_id order: two overlapping batches lock in the same order.
    for record in sorted(live, key=lambda r: r.values["external_id"]):
        visit_id = visits.get(record.values["visit_external_id"])
        if visit_id is None:
            record.error("visit_external_id", _("没有这个 external_id 的工单。"))
            continue
        outcome = _work_item_apply(record, visit_id=visit_id, by=by, now=now)
        if outcome:
            setattr(result, outcome, getattr(result, outcome) + 1)
    for record in records:
        if not record.ok:
            result.fail(record.index, record.external_id, record.errors)
    return result


def _work_item_apply(record: Record, *, visit_id: int, by, now) -> str | None:
    """One record in its own savepoint: "created", "updated", "unchanged", or None with
    the record's errors (nothing of it written). A concurrent batch that created the same
    item first: the record is applied again, to that item."""
    for attempt in range(sync.RACE_RETRIES):
        try:
            with transaction.atomic():
                return _work_item_write(record, visit_id=visit_id, by=by, now=now)
        except (ValidationError, DomainError) as refused:
            _refusal_to_record(record, refused)
            return None
        except IntegrityError:
            if attempt == sync.RACE_RETRIES - 1:
                raise
    return None  # pragma: no cover


def _work_item_write(record: Record, *, visit_id: int, by, now) -> str:
    values = record.values
    item = WorkItem.objects.select_for_update().filter(external_id=values["external_id"]).first()
    if item is not None and _stale(item, values):
        return "unchanged"
    created = item is None
    if created:
        item = _request(values, visit_id=visit_id, by=by, now=now)
    else:
        _same_terms(item, values, visit_id)
    answered = _answer(item, values, by=by, now=now)
    if not created and not answered:
        return "unchanged"
    if not created and values["source_updated_at"]:
        WorkItem.objects.filter(pk=item.pk).update(source_updated_at=values["source_updated_at"])
    return "created" if created else "updated"


def _request(values: dict, *, visit_id: int, by, now) -> WorkItem:
    """A new item through the advisor's service. Without the DMS's requested_at it was
    put to the customer now, or when the customer answered if that came with it earlier."""
    requested_at = values["requested_at"]
    if requested_at and requested_at > now + CLOCK_SKEW:
        raise ValidationError({"requested_at": [_("提出增项的时间不能晚于现在。")]})
    if requested_at is None and values["answer"] and values["answered_at"]:
        requested_at = min(values["answered_at"], now)
    try:
        return workitems.extra_work_request(
            visit=Visit(pk=visit_id),
            description=values["description"],
            labour_estimate=values["labour_estimate"],
            parts_estimate=values["parts_estimate"],
            urgency=values["urgency"],
            by=by,
            requested_at=requested_at or now,
            external_id=values["external_id"],
            source_updated_at=values["source_updated_at"],
        )
    except DomainError as refused:  # the car has left the workshop
        raise DomainError(refused.message, code=refused.code, field="visit_external_id") from None


def _stale(item: WorkItem, values: dict) -> bool:
    incoming, stored = values["source_updated_at"], item.source_updated_at
    return bool(incoming and stored and incoming < stored)


def _same_terms(item: WorkItem, values: dict, visit_id: int) -> None:
    """What the customer was asked stays as asked: another visit, description, estimate or
    urgency for a known item is refused (the DMS records a changed item as a new one)."""
    errors = {}
    if item.visit_id != visit_id:
        errors["visit_external_id"] = [_("这个增项属于另一张工单，不能改到这张工单。")]
    for name in ITEM_TERMS:
        if getattr(item, name) != values[name]:
            errors[name] = [_("增项已发给客户，内容不能更改；如有变化请作为新的增项记录。")]
    if errors:
        raise ValidationError(errors)


def _answer(item: WorkItem, values: dict, *, by, now) -> bool:
    """Record the DMS's answer: True when it was recorded now. The same answer again is
    nothing; another one to an answered item is refused (an answer is never changed)."""
    answer = values["answer"]
    if not answer:
        return False  # the DMS has no answer (yet): one given on the status page stays
    if item.status == answer:
        return False
    if item.status in WorkItem.ANSWERED:
        raise DomainError(
            _("这个增项已经答复过了（%(status)s），答复不能更改。")
            % {"status": item.get_status_display()},
            code="already_answered",
            field="answer",
        )
    answered_at = values["answered_at"] or now
    if answered_at > now + CLOCK_SKEW:
        raise ValidationError({"answered_at": [_("答复时间不能晚于现在。")]})
    if item.requested_at and answered_at < item.requested_at:
        raise ValidationError({"answered_at": [_("答复时间不能早于提出增项的时间。")]})
    try:
        workitems.extra_work_answer(
            item=item, decision=answer, channel=WorkItem.Channel.DMS, by=by, now=answered_at
        )
    except DomainError as refused:  # answered meanwhile, or the car has left the workshop
        raise DomainError(refused.message, code=refused.code, field="answer") from None
    return True


def _refusal_to_record(record: Record, refused) -> None:
    """A service's refusal as the record's errors, by the sync's field names."""
    renamed = {"decision": "answer", "channel": "answer"}
    if isinstance(refused, DomainError):
        record.error(refused.field or "non_field_errors", refused.message)
        return
    for name, messages in refused.message_dict.items():
        for message in messages:
            record.error(renamed.get(name, name), message)


# ---------------------------------------------------------------- appointments (issue 18)

APPOINTMENT_RECORD = sync.Declaration(
    Appointment,
    sync.Text("external_id", required=True),
    sync.Reference("vehicle_external_id", Vehicle, required=True),
    sync.Reference(
        "customer_external_id", Customer, help_text=gettext_lazy("可省略：默认车辆的车主")
    ),
    sync.Moment("scheduled_at", required=True, check=check_day),
    sync.Choice("service_type", required=True),
    sync.Choice("status", default=Appointment.Status.BOOKED),
    # Stored in notes (the API's name is the DMS's).
    sync.Text("note", max_length=Appointment.notes.field.max_length, written=False),
    sync.Moment("source_updated_at", check=check_day),
    derived=[
        bulk.Column("vehicle_id"),
        bulk.Column("customer_id"),
        bulk.Column("notes"),
        # Moves only when the status itself changes.
        bulk.Column(
            "status_changed_at",
            on_update=(
                'CASE WHEN t."status" = excluded."status" '
                'THEN t."status_changed_at" ELSE excluded."status_changed_at" END'
            ),
            compare=False,
        ),
    ],
    # The DMS's appointments are the DMS's (the source never changes once stored); the
    # desk's cancel reason is the desk's.
    insert_only={
        "source": Appointment.Source.DMS,
        "cancel_reason": "",
        "cancel_note": "",
    },
)


def appointments_sync(*, payload, by, now=None, capacity_report=None) -> SyncResult:
    """Upsert a batch of the DMS's appointments keyed by external_id (API.md,
    "appointments"). The DMS is the source of truth: no capacity check here (the booking
    core's lock is for the shop's own channels). ``capacity_report`` (the booking core's,
    passed in by the API: it sits above this app) takes [(scheduled_at, service_type,
    status)] of the valid records, after the write, and answers a finding or None for
    each; the findings become the answer's ``warnings``."""
    records = APPOINTMENT_RECORD.parse(payload)
    now = now or timezone.now()
    live = [r for r in records if r.ok]
    vehicles, customers = _vehicles_and_customers(live)
    for record in live:
        values = record.values
        vehicle = vehicles.get(values["vehicle_external_id"])
        if vehicle is None:
            record.error("vehicle_external_id", _("没有这个 external_id 的车辆。"))
            continue
        values["vehicle_id"], values["customer_id"] = vehicle
        if values["customer_external_id"]:
            values["customer_id"] = customers.get(values["customer_external_id"])
            if values["customer_id"] is None:
                record.error("customer_external_id", _("没有这个 external_id 的客户。"))
        values["notes"] = values["note"]
        values["status_changed_at"] = values["source_updated_at"] or now
    result = write_batch(APPOINTMENT_RECORD, records, now=now, by=by, checks=[])
    result.warnings = []
    if capacity_report is not None:
        valid = [r for r in records if r.ok]
        findings = capacity_report(
            [
                (r.values["scheduled_at"], r.values["service_type"], r.values["status"])
                for r in valid
            ]
        )
        for record, finding in zip(valid, findings, strict=True):
            if finding:
                result.warn(
                    record.index,
                    record.external_id,
                    {"over_capacity": True, **finding},
                    _("该时段已超过可接待数量（DMS 为准，已保存）。"),
                )
    return result
