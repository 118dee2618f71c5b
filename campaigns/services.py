"""Campaigns: created by a manager, run by the beat, closed by its end date or a manager.

Every effect is a row behind a unique constraint, so the sweep is safe twice and with two
beats at once: a contact per (campaign, customer), a listed vehicle per (campaign, vehicle),
a call per (kind, source key ``campaign:<id>:<customer>``), a message per (purpose,
recipient, ``campaign:<id>:<customer>``). The audience is frozen when the campaign starts
(docs/decisions.md)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.contact import Purpose, may_contact, message_channel_for, refusal_reason
from customers.models import Customer, Vehicle
from customers.validators import clean_vin_text
from followups import services as followup_services
from followups import sources
from followups.booking_links import booking_link
from followups.models import FollowUpTask
from followups.selectors import next_services
from messaging.models import Message
from messaging.services import message_enqueue, messages_cancel_unsent, sent_in_one_batch
from shopcalendar import selectors as calendar
from shopcalendar.rules import end_of
from shopcrm.errors import DomainError

from . import rules, selectors
from .models import Campaign, CampaignContact, CampaignVehicle

Status, Skipped = Campaign.Status, CampaignContact.Skipped
PLAN_CHUNK = 200
PLAN_MAX_PER_RUN = 5000  # the rest waits for the next beat (5 minutes)


# ---------------------------------------------------------------- creating


AUDIENCE_FIELDS = {
    Campaign.Audience.SERVICE_DUE: ("due_within_days",),
    Campaign.Audience.VALUE_TIER: ("value_tier",),
    Campaign.Audience.MILEAGE_BAND: ("mileage_band",),
    Campaign.Audience.VEHICLE_MODEL: ("vehicle_model",),
    Campaign.Audience.LAST_VISIT: ("last_visit_from", "last_visit_to"),
}


def campaign_check(campaign: Campaign) -> None:
    """The campaign's own rules (raises ValidationError with the fields' messages)."""
    errors: dict[str, list] = {}
    for name in AUDIENCE_FIELDS.get(campaign.audience, ()):
        value = getattr(campaign, name)
        if value is None or value == "":
            errors.setdefault(name, []).append(_("请为所选目标客户填写此项。"))
    if campaign.audience == Campaign.Audience.SERVICE_DUE and (campaign.due_within_days or 0) > 365:
        errors.setdefault("due_within_days", []).append(_("到期天数最多 365 天。"))
    if (
        campaign.last_visit_from
        and campaign.last_visit_to
        and campaign.last_visit_from > campaign.last_visit_to
    ):
        errors.setdefault("last_visit_to", []).append(_("结束日期不能早于开始日期。"))
    is_recall = campaign.kind == Campaign.Kind.RECALL
    if is_recall != (campaign.audience == Campaign.Audience.VIN_LIST):
        errors.setdefault("audience", []).append(
            _("车辆召回活动的目标客户是导入的 VIN 清单，且只有召回活动可以导入 VIN 清单。")
        )
    if campaign.channel != Campaign.Channel.CALL:
        if not campaign.message_template.strip():
            errors.setdefault("message_template", []).append(_("发送消息的活动需要填写消息模板。"))
        errors.setdefault("message_template", []).extend(
            rules.template_errors(campaign.message_template)
        )
    if campaign.starts_at and campaign.ends_on < timezone.localdate(campaign.starts_at):
        errors.setdefault("ends_on", []).append(_("结束日期不能早于开始时间。"))
    if campaign.ends_on < timezone.localdate():
        errors.setdefault("ends_on", []).append(_("结束日期不能早于今天。"))
    errors = {name: found for name, found in errors.items() if found}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def campaign_create(
    *, campaign: Campaign, by, vin_file: bytes | None = None
) -> tuple[Campaign, "VinImport | None"]:
    """Save a new campaign (scheduled, or a draft), with its VIN list for a recall. Refused
    as a whole, with nothing written, when a rule says no or the VIN file has no good line."""
    campaign.created_by = by
    campaign_check(campaign)
    if campaign.kind == Campaign.Kind.RECALL and not vin_file:
        raise ValidationError({"vin_file": [_("车辆召回活动请上传 VIN 清单。")]})
    campaign.save()
    report = vins_import(campaign=campaign, content=vin_file) if vin_file else None
    return campaign, report


@dataclass(frozen=True)
class VinImport:
    """A VIN file's import: how many vehicles were added, and each bad line."""

    added: int
    bad: list  # [{"line": n, "value": text, "reason": why}]


def vins_import(*, campaign: Campaign, content: bytes) -> VinImport:
    """Add the good lines of a VIN file to a recall not yet started; report each bad line
    (malformed, duplicated in the file or already in the campaign, unknown to the shop, car
    no longer in service). Refused as a whole when the file cannot be read or has no good
    line; otherwise the good lines are kept and the bad ones recorded on the campaign."""
    if campaign.kind != Campaign.Kind.RECALL or campaign.status not in (
        Status.DRAFT,
        Status.SCHEDULED,
    ):
        raise DomainError(_("只有尚未开始的车辆召回活动可以导入 VIN。"), code="not_importable")
    rows, bad = vins_read(campaign=campaign, content=content)
    CampaignVehicle.objects.bulk_create(
        [CampaignVehicle(campaign=campaign, vehicle_id=pk, line=line) for line, pk in rows],
        ignore_conflicts=True,
    )
    Campaign.objects.filter(pk=campaign.pk).update(vin_import_errors=bad, updated_at=timezone.now())
    campaign.vin_import_errors = bad  # the last file's bad lines
    return VinImport(added=len(rows), bad=bad)


@transaction.atomic
def vins_import_atomic(*, campaign: Campaign, content: bytes) -> VinImport:
    """``vins_import`` on its own (a later file for the same recall), in one transaction."""
    return vins_import(campaign=campaign, content=content)


def vins_read(*, campaign: Campaign, content: bytes) -> tuple[list, list]:
    """The file's vehicles to add [(line, vehicle id)] and its bad lines, nothing written.
    Raises a ValidationError on ``vin_file`` when the file is unreadable or has no good line."""
    try:
        lines = rules.read_vin_lines(rules.decode_vin_file(content))
    except ValidationError as error:
        raise ValidationError({"vin_file": error.messages}) from error
    bad = [{"line": line, "value": value, "reason": reason} for line, value, reason in lines.bad]
    vehicles = {
        vin: (pk, active)
        for vin, pk, active in Vehicle.objects.filter(
            vin__in=[vin for _line, vin in lines.good]
        ).values_list("vin", "pk", "is_active")
    }
    listed = set()
    if campaign.pk:
        listed = set(
            CampaignVehicle.objects.filter(campaign=campaign).values_list("vehicle_id", flat=True)
        )
    rows = []
    for line, vin in lines.good:
        pk, active = vehicles.get(vin, (None, False))
        reason = _vin_refusal(vin, pk, active, listed)
        if reason:
            bad.append({"line": line, "value": vin, "reason": reason})
        else:
            rows.append((line, pk))
    # A bad line naming a car of the shop keeps only its number and reason: the VIN ties the
    # car to its owner, and the campaign's report is not erased with the customer.
    for row in bad:
        if clean_vin_text(row["value"]) in vehicles:
            row["value"] = ""
    bad.sort(key=lambda row: row["line"])
    if not rows:
        raise ValidationError(
            {"vin_file": [_("VIN 文件中没有可导入的车辆：%(lines)s") % {"lines": _lines_text(bad)}]}
        )
    return rows, bad


def _vin_refusal(vin: str, pk: int | None, active: bool, listed: set) -> str:
    if pk is None:
        return rules.check_digit_error(vin) or _("本店没有这辆车")
    if not active:
        return _("车辆已不在用（已转出或报废）")
    if pk in listed:
        return _("已在本活动中")
    return ""


def campaign_preview(*, campaign: Campaign, vin_file: bytes | None = None) -> dict:
    """How many customers the campaign would reach if it started today, and how many of
    them the contact rules would skip (and the VIN file's bad lines); nothing is saved."""
    campaign_check(campaign)
    bad = []
    if campaign.audience == Campaign.Audience.VIN_LIST:
        if not vin_file:
            raise ValidationError({"vin_file": [_("车辆召回活动请上传 VIN 清单。")]})
        rows, bad = vins_read(campaign=campaign, content=vin_file)
        owners = Vehicle.objects.filter(pk__in=[pk for _line, pk in rows]).values_list(
            "owner_id", flat=True
        )
        audience = set(
            Customer.objects.filter(pk__in=owners, merged_into__isnull=True).values_list(
                "pk", flat=True
            )
        )
    else:
        audience = set(selectors.audience_of(campaign, timezone.localdate()))
    customers = Customer.objects.in_bulk(list(audience))
    skipped = sum(1 for customer in customers.values() if skip_reason(campaign, customer))
    return {"audience": len(audience), "skipped": skipped, "bad": bad}


def _lines_text(bad: list) -> str:
    shown = "；".join(_("第 %(line)s 行 %(value)s：%(reason)s") % row for row in bad[:20])
    return shown + ("…" if len(bad) > 20 else "")


# ---------------------------------------------------------------- a manager closes it


def campaign_schedule(*, campaign: Campaign, by) -> Campaign:
    if campaign.status != Status.DRAFT:
        raise DomainError(_("只有草稿可以排期。"), code="not_draft")
    campaign_check(campaign)
    Campaign.objects.filter(pk=campaign.pk, status=Status.DRAFT).update(
        status=Status.SCHEDULED, updated_at=timezone.now()
    )
    campaign.refresh_from_db()
    return campaign


def campaign_close(*, campaign: Campaign, by, cancel: bool, now: datetime | None = None) -> int:
    """End the campaign now (``cancel``: cancelled, else ended): its calls still waiting and
    its messages not yet sent are cancelled. Returns how many of them."""
    if campaign.status not in Campaign.OPEN:
        raise DomainError(_("活动已经结束或取消。"), code="closed")
    return _close(campaign.pk, Status.CANCELLED if cancel else Status.ENDED, now or timezone.now())


@transaction.atomic
def _close(campaign_id: int, status: str, now: datetime) -> int:
    closed = Campaign.objects.filter(pk=campaign_id, status__in=Campaign.OPEN).update(
        status=status, closed_at=now, updated_at=now
    )
    if not closed:
        return 0
    return cancel_open_work(campaign_id)


def cancel_open_work(campaign_id: int) -> int:
    """Cancel the calls still waiting and the messages not yet sent of a closed campaign
    (again: harmless, it finds nothing the second time)."""
    contacts = CampaignContact.objects.filter(campaign_id=campaign_id)
    note = _("活动已结束")
    return followup_services.tasks_cancel_waiting(
        task_ids=contacts.exclude(task=None).values_list("task_id", flat=True), note=note
    ) + messages_cancel_unsent(
        message_ids=contacts.exclude(message=None).values_list("message_id", flat=True),
        reason="campaign closed",
    )


# ---------------------------------------------------------------- the beat


def campaigns_run(*, now: datetime | None = None) -> dict:
    """The beat's sweep: end the campaigns past their end date, start the ones whose start
    has come (freezing their audience), plan the contacts not yet planned."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    done = {"ended": 0, "started": 0, "planned": 0, "cancelled": 0}
    for campaign_id in Campaign.objects.filter(
        status__in=(Status.SCHEDULED, Status.RUNNING), ends_on__lt=today
    ).values_list("pk", flat=True):
        done["ended"] += 1
        done["cancelled"] += _close(campaign_id, Status.ENDED, now)
    # A closed campaign's work made by a sweep that raced the closing is cancelled too.
    for campaign_id in Campaign.objects.filter(closed_at__gte=now - timedelta(days=1)).values_list(
        "pk", flat=True
    ):
        done["cancelled"] += cancel_open_work(campaign_id)
    for campaign_id in Campaign.objects.filter(
        status=Status.SCHEDULED, starts_at__lte=now
    ).values_list("pk", flat=True):
        done["started"] += campaign_start(campaign_id=campaign_id, today=today, now=now)
    for campaign in Campaign.objects.filter(status=Status.RUNNING):
        done["planned"] += contacts_plan(campaign=campaign, now=now)
    return done


@transaction.atomic
def campaign_start(*, campaign_id: int, today: date, now: datetime) -> int:
    """Freeze the audience into contacts and mark the campaign running, once: the row is
    locked (a second beat skips it), and the contacts are unique per customer anyway."""
    campaign = (
        Campaign.objects.select_for_update(skip_locked=True)
        .filter(pk=campaign_id, status=Status.SCHEDULED)
        .first()
    )
    if campaign is None:
        return 0
    audience = selectors.audience_of(campaign, today)
    latest = selectors.latest_vehicles(
        [customer_id for customer_id, vehicle_id in audience.items() if vehicle_id is None]
    )
    customers = Customer.objects.in_bulk(list(audience))
    CampaignContact.objects.bulk_create(
        [
            CampaignContact(
                campaign=campaign,
                customer_id=customer_id,
                vehicle_id=vehicle_id or latest.get(customer_id),
                skipped=skip_reason(campaign, customers[customer_id]),
            )
            for customer_id, vehicle_id in audience.items()
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    # The skipped are settled: nothing to plan for them.
    CampaignContact.objects.filter(campaign=campaign, planned_at=None).exclude(skipped="").update(
        planned_at=now
    )
    campaign.status, campaign.audience_frozen_at = Status.RUNNING, now
    campaign.save(update_fields=["status", "audience_frozen_at", "updated_at"])
    return 1


def contact_purposes(campaign: Campaign) -> tuple[str | None, str | None]:
    """(the call's contact purpose, the message's): a marketing campaign needs the marketing
    consent for both; a recall is service information — a call like any follow-up call, a
    message like a service message — never to a do-not-contact customer."""
    marketing = campaign.kind == Campaign.Kind.MARKETING
    call = (
        (Purpose.MARKETING if marketing else Purpose.CALL)
        if campaign.channel != Campaign.Channel.MESSAGE
        else None
    )
    message = (
        (Purpose.MARKETING if marketing else Purpose.SERVICE)
        if campaign.channel != Campaign.Channel.CALL
        else None
    )
    return call, message


def skip_reason(campaign: Campaign, customer: Customer) -> str:
    """Why the customer may be contacted on none of the campaign's channels ("" when they
    may on one)."""
    purposes = [purpose for purpose in contact_purposes(campaign) if purpose]
    if any(may_contact(customer, purpose) for purpose in purposes):
        return ""
    why = refusal_reason(customer, purposes[0])
    return {
        "do not contact": Skipped.DO_NOT_CONTACT,
        "service messages off": Skipped.MESSAGES_OFF,
    }.get(why, Skipped.NO_CONSENT)


def contacts_plan(*, campaign: Campaign, now: datetime) -> int:
    """Make the call and/or message of each contact not yet planned, in chunks taken with
    SKIP LOCKED (two beats share the work); the task's and the message's unique keys make a
    retry after a crash create nothing twice. The contact rules are asked again here."""
    planned = 0
    while planned < PLAN_MAX_PER_RUN:
        with transaction.atomic(), sent_in_one_batch():
            chunk = list(
                CampaignContact.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(campaign=campaign, planned_at=None)
                .select_related("customer", "vehicle")
                .order_by("pk")[:PLAN_CHUNK]
            )
            if not chunk:
                break
            predicted = next_services(
                vehicles=[contact.vehicle for contact in chunk if contact.vehicle]
            )
            for contact in chunk:
                _plan(campaign, contact, predicted, now)
        planned += len(chunk)
    return planned


def _plan(campaign: Campaign, contact: CampaignContact, predicted: dict, now: datetime) -> None:
    call_purpose, message_purpose = contact_purposes(campaign)
    customer, source = (
        contact.customer,
        sources.of_campaign_contact(campaign.pk, contact.customer_id),
    )
    if call_purpose and may_contact(customer, call_purpose):
        contact.task, _created = followup_services.task_create(
            kind=FollowUpTask.Kind.CAMPAIGN
            if campaign.kind == Campaign.Kind.MARKETING
            else FollowUpTask.Kind.RECALL,
            source=source,
            customer=customer,
            vehicle=contact.vehicle,
            due_at=calendar.next_contact_moment(now),
            expires_at=end_of(campaign.ends_on),
            reason=_("%(kind)s：%(name)s")
            % {"kind": campaign.get_kind_display(), "name": campaign.name},
        )
    if message_purpose and may_contact(customer, message_purpose):
        contact.message = _message(campaign, contact, source, message_purpose, predicted)
    if contact.task is None and contact.message is None:
        contact.skipped = skip_reason(campaign, customer) or Skipped.NO_ADDRESS
    contact.planned_at = now
    contact.save(update_fields=["task", "message", "skipped", "planned_at"])


def _message(campaign, contact, source, purpose: str, predicted: dict) -> Message | None:
    vehicle, customer = contact.vehicle, contact.customer
    tomorrow = timezone.localdate() + timedelta(days=1)
    values = {"shop": str(settings.SHOP_NAME), "plate": "", "model": "", "link": ""}
    if vehicle is not None:
        suggested = max(predicted.get(vehicle.pk) or tomorrow, tomorrow)
        values.update(
            plate=vehicle.plate or vehicle.vin,
            model=vehicle.model,
            link=booking_link(vehicle_id=vehicle.pk, suggested=suggested),
        )
    marketing = campaign.kind == Campaign.Kind.MARKETING
    message, _created = message_enqueue(
        purpose=Message.Purpose.CAMPAIGN if marketing else Message.Purpose.RECALL_NOTICE,
        contact_purpose=purpose,
        customer=customer,
        object_key=source.key,
        body=rules.render_message(campaign.message_template, values, marketing=marketing),
        channel=message_channel_for(customer),
        template_code=settings.SMS_TEMPLATE_CAMPAIGN if marketing else settings.SMS_TEMPLATE_RECALL,
        params={name: values[name] for name in rules.PLACEHOLDERS},
        secret_params=("link",),
    )
    return message
