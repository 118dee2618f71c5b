"""DMS sync of repair orders (visits): the same record rules as the browser, one set-based
upsert per batch, and the "visit delivered" event for recent deliveries."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer, Vehicle
from customers.validators import ODOMETER_MAX_KM
from shopcalendar.rules import check_day
from shopcrm import bulk, sync
from shopcrm.sync import Record, SyncResult, refuse_duplicates_in_batch, write_batch

from .events import emit_visit_checked_in, emit_visit_delivered, emit_visit_ready
from .models import Appointment, Visit


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
    ],
    # Written by the desk only; a synced visit starts with them empty.
    # (A synced delivery has no delivery checklist, not complete, and no revision recorded
    # here: their columns' database defaults. A promise the DMS moves counts as revised,
    # visits.rules.REVISED.)
    insert_only={"walkaround_notes": "", "odometer_lower_confirmed": False, "cancel_reason": ""},
    clean=_delivery_times_in_order,
)


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
        # The DMS's first promise is the visit's first (kept when it later moves it).
        values["first_promised_at"] = values["promised_at"]


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
