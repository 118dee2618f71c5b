"""DMS sync of customers and vehicles: validate each record like the browser does, then
write the batch with one set-based upsert (shopcrm.bulk)."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext as _

from shopcrm import bulk
from shopcrm.sync import (
    BOOLEAN,
    INTEGER,
    STRING,
    FieldSpec,
    Record,
    SyncResult,
    check_shape,
    parse_records,
    refuse_duplicates_in_batch,
    write_batch,
)

from .models import Customer, Vehicle
from .validators import normalize_phone, normalize_plate, normalize_vin

CHANGE_REASON = "DMS sync"
CUSTOMER_KINDS = tuple(Customer.Kind.values)
RACE_RETRIES = 3

CUSTOMER_FIELDS = [
    FieldSpec("external_id", STRING, required=True),
    FieldSpec("name", STRING, required=True),
    FieldSpec("phone", STRING, required=True),
    FieldSpec("email", STRING),
    FieldSpec("kind", STRING),
    FieldSpec("marketing_consent", BOOLEAN),
    FieldSpec("do_not_contact", BOOLEAN),
    FieldSpec("source_updated_at", STRING),
]

VEHICLE_FIELDS = [
    FieldSpec("external_id", STRING, required=True),
    FieldSpec("customer_external_id", STRING, required=True),
    FieldSpec("vin", STRING, required=True),
    FieldSpec("plate", STRING),
    FieldSpec("brand", STRING),
    FieldSpec("model", STRING),
    FieldSpec("model_year", INTEGER),
    FieldSpec("registration_date", STRING),
    FieldSpec("odometer_km", INTEGER),
    FieldSpec("source_updated_at", STRING),
]

CUSTOMER_COLUMNS = [
    bulk.Column("name"),
    bulk.Column("phone"),
    bulk.Column("email"),
    bulk.Column("kind"),
    bulk.Column("marketing_consent"),
    # Consent time moves only when the consent itself changes.
    bulk.Column(
        "marketing_consent_at",
        on_update=(
            'CASE WHEN t."marketing_consent" = excluded."marketing_consent" '
            'THEN t."marketing_consent_at" ELSE excluded."marketing_consent_at" END'
        ),
        compare=False,
    ),
    bulk.Column("marketing_consent_source", on_update=None),
    # A refusal sticks, whichever side recorded it; only the shop lifts it in the browser.
    bulk.Column("do_not_contact", on_update='(t."do_not_contact" OR excluded."do_not_contact")'),
    bulk.Column("source_updated_at"),
    bulk.Column("phone2", on_update=None),
    bulk.Column("wechat_openid", on_update=None),
    bulk.Column("preferred_channel", on_update=None),
    bulk.Column("contact_window", on_update=None),
]

VEHICLE_COLUMNS = [
    bulk.Column("owner_id"),
    bulk.Column("vin"),
    bulk.Column("plate"),
    bulk.Column("brand"),
    bulk.Column("model"),
    bulk.Column("model_year"),
    bulk.Column("registration_date"),
    # The last known odometer is the highest reading, from the desk or the DMS.
    bulk.Column(
        "odometer_km",
        on_update=(
            'CASE WHEN t."odometer_km" IS NULL OR excluded."odometer_km" > t."odometer_km" '
            'THEN excluded."odometer_km" ELSE t."odometer_km" END'
        ),
    ),
    bulk.Column("source_updated_at"),
    bulk.Column("is_active", on_update=None),
    bulk.Column("vin_check_override", on_update=None),
    bulk.Column("colour", on_update=None),
]


def _parse_customer(record: Record) -> dict:
    values = {
        "external_id": record.string("external_id", max_length=64, required=True),
        "name": record.string("name", max_length=100, required=True),
        "kind": record.choice("kind", CUSTOMER_KINDS, default=Customer.Kind.INDIVIDUAL),
        "marketing_consent": record.boolean("marketing_consent"),
        "do_not_contact": record.boolean("do_not_contact"),
        "source_updated_at": record.moment("source_updated_at"),
        "email": record.string("email", max_length=254),
    }
    if "phone" not in record.errors:
        values["phone"] = (
            record.validated("phone", normalize_phone) if record.data.get("phone") else None
        )
        if values["phone"] is None and "phone" not in record.errors:
            record.error("phone", _("必填。"))
    if values["email"]:
        try:
            validate_email(values["email"])
        except ValidationError:
            record.error("email", _("不是有效的电子邮件地址。"))
    return values


def customers_sync(*, payload, by, now=None) -> SyncResult:
    """Upsert a batch of DMS customers keyed by external_id (API.md, "customers")."""
    check_shape(payload, CUSTOMER_FIELDS)
    now = now or timezone.now()
    result = SyncResult()
    records = parse_records(payload, _parse_customer)
    refuse_duplicates_in_batch(records, "phone", _("该手机号已用于本批第 %(index)s 条记录。"))
    return write_batch(
        Customer,
        records,
        result,
        now=now,
        by=by,
        columns=CUSTOMER_COLUMNS,
        checks=[_phone_taken],
        row=lambda values: {
            **values,
            "marketing_consent_at": now if values["marketing_consent"] else None,
            "marketing_consent_source": "dms" if values["marketing_consent"] else "",
            "phone2": "",
            "wechat_openid": "",
            "preferred_channel": Customer.Channel.SMS,
            "contact_window": Customer.ContactWindow.ANY,
        },
    )


def _phone_taken(records: list[Record]) -> None:
    phones = {r.values["phone"]: r for r in records if r.ok}
    taken = bulk.lookup(
        Customer, "phone", phones, ["external_id", "name"], '"merged_into_id" IS NULL'
    )
    for phone, external_id, name in taken:
        record = phones[phone]
        if external_id != record.values["external_id"]:
            record.error("phone", _("该手机号已属于客户 %(name)s。") % {"name": name})


def _parse_vehicle(record: Record) -> dict:
    values = {
        "external_id": record.string("external_id", max_length=64, required=True),
        "customer_external_id": record.string("customer_external_id", max_length=64, required=True),
        "brand": record.string("brand", max_length=40),
        "model": record.string("model", max_length=60),
        "model_year": record.integer(
            "model_year", minimum=1950, maximum=timezone.localdate().year + 1
        ),
        "registration_date": record.day("registration_date"),
        "odometer_km": record.integer("odometer_km", minimum=0, maximum=2_000_000),
        "source_updated_at": record.moment("source_updated_at"),
    }
    values["vin"] = record.validated("vin", normalize_vin)
    values["plate"] = record.validated("plate", normalize_plate) if record.data.get("plate") else ""
    if values["registration_date"] and values["registration_date"] > timezone.localdate():
        record.error("registration_date", _("上牌日期不能晚于今天。"))
    return values


def vehicles_sync(*, payload, by, now=None) -> SyncResult:
    """Upsert a batch of DMS vehicles keyed by external_id (API.md, "vehicles")."""
    check_shape(payload, VEHICLE_FIELDS)
    now = now or timezone.now()
    result = SyncResult()
    records = parse_records(payload, _parse_vehicle)
    owners = dict(
        bulk.lookup(
            Customer,
            "external_id",
            [r.values["customer_external_id"] for r in records if r.ok],
            ["id"],
        )
    )
    for record in records:
        if record.ok:
            owner_id = owners.get(record.values["customer_external_id"])
            if owner_id is None:
                record.error("customer_external_id", _("没有这个 external_id 的客户。"))
            record.values["owner_id"] = owner_id
    refuse_duplicates_in_batch(records, "vin", _("该车架号已用于本批第 %(index)s 条记录。"))
    refuse_duplicates_in_batch(records, "plate", _("该车牌已用于本批第 %(index)s 条记录。"))
    return write_batch(
        Vehicle,
        records,
        result,
        now=now,
        by=by,
        columns=VEHICLE_COLUMNS,
        checks=[_vin_or_plate_taken],
        row=lambda values: {
            **{k: v for k, v in values.items() if k != "customer_external_id"},
            "is_active": True,
            "vin_check_override": False,
            "colour": "",
        },
    )


def _vin_or_plate_taken(records: list[Record]) -> None:
    live = [r for r in records if r.ok]
    by_vin = {r.values["vin"]: r for r in live}
    for vin, external_id in Vehicle.objects.filter(vin__in=by_vin).values_list(
        "vin", "external_id"
    ):
        if external_id != by_vin[vin].values["external_id"]:
            by_vin[vin].error("vin", _("该车架号已登记在另一辆车上。"))
    by_plate = {r.values["plate"]: r for r in live if r.values["plate"]}
    taken = bulk.lookup(Vehicle, "plate", by_plate, ["external_id"], '"is_active"')
    for plate, external_id in taken:
        record = by_plate[plate]
        if record.ok and external_id != record.values["external_id"]:
            record.error("plate", _("该车牌已登记在另一辆在用车辆上。"))
