"""DMS sync of customers and vehicles: each record declared once (shopcrm.sync), validated
like the browser does, and the batch written with one set-based upsert (shopcrm.bulk)."""

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shopcalendar.rules import check_day
from shopcrm import bulk, sync
from shopcrm.sync import Record, SyncResult, refuse_duplicates_in_batch, write_batch

from .events import emit_contact_withdrawn
from .models import Customer, Vehicle
from .validators import (
    MODEL_YEAR_FIRST,
    ODOMETER_MAX_KM,
    check_registration_date,
    model_year_last,
    normalize_phone,
    normalize_plate,
    normalize_vin,
)

CUSTOMER_RECORD = sync.Declaration(
    Customer,
    sync.Text("external_id", required=True),
    sync.Text("name", required=True),
    sync.Validated(
        "phone",
        normalize_phone,
        required=True,
        help_text=gettext_lazy("中国大陆手机或固话，+86、空格、短横线均可"),
    ),
    sync.Email("email"),
    sync.Choice("kind", default=Customer.Kind.INDIVIDUAL),
    sync.Boolean("marketing_consent"),
    # A refusal sticks, whichever side recorded it; only the shop lifts it in the browser.
    sync.Boolean("do_not_contact", on_update=sync.STICKY_TRUE),
    sync.Moment("source_updated_at", check=check_day),
    derived=[
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
    ],
    insert_only={
        "phone2": "",
        "wechat_openid": "",
        "preferred_channel": Customer.Channel.SMS,
        "contact_window": Customer.ContactWindow.ANY,
        "service_messages": True,
        "preferred_language": Customer.Language.ZH_HANS,
        "verified": True,
        "verification_note": "",
    },
)


def _registration_not_in_the_future(record: Record, values: dict) -> None:
    try:
        check_registration_date(values["registration_date"])
    except ValidationError as exc:
        record.error("registration_date", exc.messages[0])


VEHICLE_RECORD = sync.Declaration(
    Vehicle,
    sync.Text("external_id", required=True),
    sync.Reference("customer_external_id", Customer, required=True),
    sync.Validated(
        "vin",
        normalize_vin,
        required=True,
        validate_empty=True,
        max_length=sync.FROM_MODEL,
        help_text=gettext_lazy("17 位，校验位必须正确"),
    ),
    sync.Validated("plate", normalize_plate),
    sync.Text("brand"),
    sync.Text("model"),
    sync.Integer("model_year", minimum=MODEL_YEAR_FIRST, maximum=model_year_last),
    sync.Day("registration_date"),
    # The last known odometer is the highest reading, from the desk or the DMS.
    sync.Integer("odometer_km", minimum=0, maximum=ODOMETER_MAX_KM, on_update=sync.KEEP_HIGHEST),
    sync.Moment("source_updated_at", check=check_day),
    derived=[bulk.Column("owner_id")],  # from customer_external_id
    insert_only={
        "is_active": True,
        "vin_check_override": False,
        "colour": "",
        "verified": True,
        "verification_note": "",
    },
    clean=_registration_not_in_the_future,
)


def customers_sync(*, payload, by, now=None) -> SyncResult:
    """Upsert a batch of DMS customers keyed by external_id (API.md, "customers")."""
    records = CUSTOMER_RECORD.parse(payload)
    now = now or timezone.now()
    refuse_duplicates_in_batch(records, "phone", _("该手机号已用于本批第 %(index)s 条记录。"))
    for record in records:
        consent = record.values["marketing_consent"]
        record.values["marketing_consent_at"] = now if consent else None
        record.values["marketing_consent_source"] = "dms" if consent else ""
    return write_batch(
        CUSTOMER_RECORD,
        records,
        now=now,
        by=by,
        checks=[_phone_taken],
        after_write=_contact_withdrawn,
    )


def _contact_withdrawn(records: list[Record], outcome) -> None:
    """Customers the DMS now says not to contact, or who withdrew consent: their planned
    calls and messages go, in the batch's transaction (customers.events)."""
    emit_contact_withdrawn(
        customer_ids=[
            outcome.updated[r.values["external_id"]]
            for r in records
            if r.values["external_id"] in outcome.updated
            and (r.values["do_not_contact"] or not r.values["marketing_consent"])
        ]
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


def vehicles_sync(*, payload, by, now=None) -> SyncResult:
    """Upsert a batch of DMS vehicles keyed by external_id (API.md, "vehicles")."""
    records = VEHICLE_RECORD.parse(payload)
    now = now or timezone.now()
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
    return write_batch(VEHICLE_RECORD, records, now=now, by=by, checks=[_vin_or_plate_taken])


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
