"""DMS sync of repair orders (visits): the same record rules as the browser, one set-based
upsert per batch, and the "visit delivered" event for recent deliveries."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Vehicle
from shopcrm import bulk
from shopcrm.sync import (
    BOOLEAN,
    INTEGER,
    NUMBER_OR_STRING,
    STRING,
    FieldSpec,
    Record,
    SyncResult,
    check_shape,
    parse_records,
    refuse_duplicates_in_batch,
    write_batch,
)

from .events import emit_visit_delivered
from .models import ServiceType, Visit

SERVICE_TYPES = tuple(ServiceType.values)
STATUSES = tuple(Visit.Status.values)

VISIT_FIELDS = [
    FieldSpec("external_id", STRING, required=True),
    FieldSpec("ro_number", STRING, required=True),
    FieldSpec("vehicle_external_id", STRING, required=True),
    FieldSpec("customer_external_id", STRING),
    FieldSpec("advisor", STRING),
    FieldSpec("service_type", STRING, required=True),
    FieldSpec("status", STRING, required=True),
    FieldSpec("checked_in_at", STRING, required=True),
    FieldSpec("promised_at", STRING),
    FieldSpec("delivered_at", STRING),
    FieldSpec("odometer_km", INTEGER),
    FieldSpec("by_appointment", BOOLEAN),
    FieldSpec("concern", STRING),
    FieldSpec("labour_amount", NUMBER_OR_STRING),
    FieldSpec("parts_amount", NUMBER_OR_STRING),
    FieldSpec("total_amount", NUMBER_OR_STRING),
    FieldSpec("source_updated_at", STRING),
]

VISIT_COLUMNS = [
    bulk.Column("ro_number"),
    bulk.Column("vehicle_id"),
    bulk.Column("customer_id"),
    bulk.Column("advisor_id"),
    bulk.Column("advisor_code"),
    bulk.Column("service_type"),
    bulk.Column("status"),
    bulk.Column("checked_in_at"),
    bulk.Column("promised_at"),
    bulk.Column("delivered_at"),
    bulk.Column("odometer_km"),
    bulk.Column("by_appointment"),
    bulk.Column("concern"),
    bulk.Column("labour_amount"),
    bulk.Column("parts_amount"),
    bulk.Column("total_amount"),
    bulk.Column("source_updated_at"),
    # Written by the desk only; a synced visit starts with them empty.
    bulk.Column("walkaround_notes", on_update=None),
    bulk.Column("odometer_lower_confirmed", on_update=None),
    bulk.Column("cancel_reason", on_update=None),
]


def _parse_visit(record: Record) -> dict:
    values = {
        "external_id": record.string("external_id", max_length=64, required=True),
        "ro_number": record.string("ro_number", max_length=32, required=True),
        "vehicle_external_id": record.string("vehicle_external_id", max_length=64, required=True),
        "customer_external_id": record.string("customer_external_id", max_length=64),
        "advisor": record.string("advisor", max_length=64),
        "service_type": record.choice("service_type", SERVICE_TYPES),
        "status": record.choice("status", STATUSES),
        "checked_in_at": record.moment("checked_in_at", required=True),
        "promised_at": record.moment("promised_at"),
        "delivered_at": record.moment("delivered_at"),
        "odometer_km": record.integer("odometer_km", minimum=0, maximum=2_000_000),
        "by_appointment": record.boolean("by_appointment"),
        "concern": record.string("concern", max_length=4000),
        "labour_amount": record.money("labour_amount"),
        "parts_amount": record.money("parts_amount"),
        "total_amount": record.money("total_amount"),
        "source_updated_at": record.moment("source_updated_at"),
    }
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
    return values


def _resolve_references(records: list[Record]) -> None:
    """Vehicles and customers by the DMS's ids; advisors by username, else kept as text."""
    live = [r for r in records if r.ok]
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


def _ro_number_taken(records: list[Record]) -> None:
    by_ro = {r.values["ro_number"]: r for r in records if r.ok}
    for ro_number, external_id in bulk.lookup(Visit, "ro_number", by_ro, ["external_id"]):
        if external_id != by_ro[ro_number].values["external_id"]:
            by_ro[ro_number].error("ro_number", _("该工单号已属于另一张工单。"))


def visits_sync(*, payload, by, now=None) -> SyncResult:
    """Upsert a batch of DMS repair orders keyed by external_id (API.md, "visits").

    A visit that becomes delivered here fires the same "visit delivered" event as the
    browser, unless it was delivered longer ago than the look-back: history does not
    trigger calls."""
    check_shape(payload, VISIT_FIELDS)
    now = now or timezone.now()
    result = SyncResult()
    records = parse_records(payload, _parse_visit)
    refuse_duplicates_in_batch(records, "ro_number", _("该工单号已用于本批第 %(index)s 条记录。"))
    _resolve_references(records)
    was_delivered = {
        external_id
        for (external_id,) in bulk.lookup(
            Visit,
            "external_id",
            [r.values["external_id"] for r in records if r.ok],
            [],
            "\"status\" = 'delivered'",
        )
    }
    look_back = now - settings.SHOPCRM_DELIVERED_EVENT_LOOK_BACK

    def fire_delivered_events(valid: list[Record], outcome: bulk.UpsertOutcome) -> None:
        written = {**outcome.created, **outcome.updated}
        for record in valid:
            values = record.values
            visit_id = written.get(values["external_id"])
            if (
                visit_id
                and values["status"] == Visit.Status.DELIVERED
                and values["external_id"] not in was_delivered
                and values["delivered_at"] >= look_back
            ):
                emit_visit_delivered(visit_id=visit_id, source="dms")

    return write_batch(
        Visit,
        records,
        result,
        now=now,
        by=by,
        columns=VISIT_COLUMNS,
        checks=[_ro_number_taken],
        row=lambda values: {
            **{
                key: value
                for key, value in values.items()
                if key not in ("vehicle_external_id", "customer_external_id", "advisor")
            },
            "walkaround_notes": "",
            "odometer_lower_confirmed": False,
            "cancel_reason": "",
        },
        after_write=fire_delivered_events,
    )
