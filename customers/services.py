"""Writes on customers and vehicles. Each service is atomic and records who did it."""

import secrets
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shopcrm.access import id_or_none
from shopcrm.errors import DomainError, DuplicateFound

from .events import emit_contact_withdrawn
from .models import Customer, CustomerMerge, PhoneReveal, ValueTier, Vehicle
from .selectors import advisor_choices, customer_find_by_phone
from .validators import (
    check_model_year,
    check_registration_date,
    normalize_phone,
    normalize_plate,
    normalize_vin,
    vin_check_digit,
)


def _collect(errors: dict, field: str, func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except ValidationError as exc:
        errors.setdefault(field, []).extend(exc.messages)
        return None


def _refuse_taken_phone(phone: str) -> None:
    """A phone belongs to one live customer: offer the one who has it."""
    existing = customer_find_by_phone(phone)
    if existing:
        raise DuplicateFound(
            _("手机号 %(phone)s 已属于客户 %(name)s。")
            % {"phone": existing.masked_phone, "name": existing.name},
            existing=existing,
            field="phone",
        )


@transaction.atomic
def customer_create(
    *,
    name: str,
    phone: str,
    by=None,
    kind: str = Customer.Kind.INDIVIDUAL,
    phone2: str = "",
    email: str = "",
    preferred_channel: str = Customer.Channel.SMS,
    contact_window: str = Customer.ContactWindow.ANY,
    marketing_consent: bool = False,
    consent_source: str = "",
    do_not_contact: bool = False,
    service_messages: bool = True,
    preferred_language: str = Customer.Language.ZH_HANS,
    external_id: str | None = None,
    verified: bool = True,
    verification_note: str = "",
) -> Customer:
    """Create a customer; an existing live customer with the same phone is offered instead.
    ``verified`` False: created by the customer on the booking page, for the advisor to
    complete (``verification_note`` says from where)."""
    errors: dict = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("请填写客户姓名。")]
    phone = _collect(errors, "phone", normalize_phone, phone)
    phone2 = _collect(errors, "phone2", normalize_phone, phone2) if phone2 else ""
    if errors:
        raise ValidationError(errors)
    _refuse_taken_phone(phone)
    customer = Customer(
        name=name,
        phone=phone,
        phone2=phone2 or "",
        kind=kind,
        email=email,
        preferred_channel=preferred_channel,
        contact_window=contact_window,
        marketing_consent=marketing_consent,
        marketing_consent_at=timezone.now() if marketing_consent else None,
        marketing_consent_source=consent_source if marketing_consent else "",
        do_not_contact=do_not_contact,
        service_messages=service_messages,
        preferred_language=preferred_language,
        external_id=external_id or None,
        verified=verified,
        verification_note=verification_note[:100],
    )
    customer._history_user = by
    customer.full_clean(validate_unique=False, validate_constraints=False)
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError as exc:
        # A concurrent create with the same phone or external id won the race.
        raise DomainError(_("该客户刚刚被其他人创建，请重新搜索。"), code="customer_race") from exc
    return customer


@transaction.atomic
def customer_reveal_phone(*, customer: Customer, user, context: str = "") -> str:
    """Return the full phone number and record that ``user`` saw it."""
    PhoneReveal.objects.create(customer=customer, user=user, context=context[:100])
    return customer.phone


@dataclass
class MergeResult:
    target: Customer
    moved: dict


@transaction.atomic
def customer_merge(*, source: Customer, target: Customer, by=None) -> MergeResult:
    """Fold ``source`` into ``target``: every record pointing at source moves to target.

    Relations are found from the model's metadata, so records of later apps (surveys,
    complaints) move too without this function knowing them. The source stays as a
    tombstone with ``merged_into`` set, and a CustomerMerge row records the move.
    """
    if source.pk == target.pk:
        raise DomainError(_("不能把客户合并到自己。"), code="merge_self")
    locked = {
        c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[source.pk, target.pk])
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.is_merged or target.is_merged:
        raise DomainError(_("已被合并的客户不能再次合并。"), code="merge_merged")
    if source.is_erased or target.is_erased:
        # Merging would bring personal data back onto a record erased at the customer's
        # request (or move the erased one's history onto a live record).
        raise DomainError(_("个人信息已删除的客户不能合并。"), code="merge_erased")

    moved: dict[str, int] = {}
    for relation in Customer._meta.related_objects:
        if relation.many_to_many or relation.related_model in (CustomerMerge,):
            continue
        if not (relation.one_to_many or relation.one_to_one):
            continue
        field_name = relation.field.name
        queryset = relation.related_model._base_manager.filter(**{field_name: source})
        related_label = relation.related_model._meta.label_lower
        if relation.related_model is Customer:
            queryset = queryset.exclude(pk=target.pk)
        # Save one by one so history records who moved each row.
        count = 0
        for row in queryset.select_for_update():
            setattr(row, field_name, target)
            row._history_user = by
            has_updated_at = any(f.name == "updated_at" for f in row._meta.concrete_fields)
            row.save(update_fields=[field_name, "updated_at"] if has_updated_at else [field_name])
            count += 1
        if count:
            moved[related_label] = count

    # Fill target's gaps from source, never overwriting what target already has.
    for field in ("phone2", "email", "wechat_openid"):
        if not getattr(target, field) and getattr(source, field):
            setattr(target, field, getattr(source, field))
    if source.do_not_contact:
        target.do_not_contact = True
    if not target.external_id and source.external_id:
        target.external_id, source.external_id = source.external_id, None
    source.merged_into = target
    source._history_user = by
    source._change_reason = f"merged into customer {target.pk}"
    source.save()
    target._history_user = by
    target._change_reason = f"merged customer {source.pk}"
    target.save()
    CustomerMerge.objects.create(source=source, target=target, merged_by=by, moved=moved)
    # The source's planned calls and messages now belong to the target: the target's rules
    # (do-not-contact carried over, its own consent) decide whether they still go.
    emit_contact_withdrawn(customer_ids=[target.pk])
    return MergeResult(target=target, moved=moved)


# ---------------------------------------------------------------- vehicles


@transaction.atomic
def vehicle_create(
    *,
    owner: Customer,
    vin: str,
    plate: str = "",
    by=None,
    vin_check_override: bool = False,
    brand: str = "",
    model: str = "",
    model_year: int | None = None,
    colour: str = "",
    registration_date: date | None = None,
    purchase_date: date | None = None,
    odometer_km: int | None = None,
    external_id: str | None = None,
) -> Vehicle:
    """Register a vehicle; an existing one with the same VIN or current plate is offered."""
    errors: dict = {}
    vin = _collect(errors, "vin", normalize_vin, vin, allow_bad_check_digit=vin_check_override)
    plate = _collect(errors, "plate", normalize_plate, plate) if plate else ""
    _collect(errors, "model_year", check_model_year, model_year)
    _collect(errors, "registration_date", check_registration_date, registration_date)
    if errors:
        raise ValidationError(errors)
    if owner.is_merged:
        raise DomainError(_("该客户已被合并，请使用合并后的客户。"), code="owner_merged")

    existing = Vehicle.objects.filter(vin=vin).select_related("owner").first()
    if existing:
        raise DuplicateFound(
            _("车架号 %(vin)s 已登记（车牌 %(plate)s，车主 %(owner)s）。")
            % {"vin": vin, "plate": existing.plate or "-", "owner": existing.owner.name},
            existing=existing,
            field="vin",
        )
    if plate:
        existing = (
            Vehicle.objects.filter(plate=plate, is_active=True).select_related("owner").first()
        )
        if existing:
            raise DuplicateFound(
                _("车牌 %(plate)s 已登记在车主 %(owner)s 名下（VIN %(vin)s）。")
                % {"plate": plate, "owner": existing.owner.name, "vin": existing.vin},
                existing=existing,
                field="plate",
            )
    # The override is recorded only when the check digit really is wrong.
    override = vin_check_override and vin[8] != vin_check_digit(vin)
    vehicle = Vehicle(
        owner=owner,
        vin=vin,
        plate=plate or "",
        vin_check_override=override,
        vin_override_by=by if override else None,
        vin_override_at=timezone.now() if override else None,
        brand=brand,
        model=model,
        model_year=model_year,
        colour=colour,
        registration_date=registration_date,
        purchase_date=purchase_date,
        odometer_km=odometer_km,
        external_id=external_id or None,
    )
    vehicle._history_user = by
    if override:
        vehicle._change_reason = "VIN check digit override"
    try:
        with transaction.atomic():
            vehicle.save()
    except IntegrityError as exc:
        # A concurrent registration of the same VIN or plate won the race.
        raise DomainError(_("该车辆刚刚被其他人登记，请重新搜索。"), code="vehicle_race") from exc
    return vehicle


# No real VIN has a Q in it (ISO 3779): a placeholder that can never equal one.
UNVERIFIED_VIN_PREFIX = "Q"


@transaction.atomic
def vehicle_create_unverified(*, owner: Customer, plate: str, note: str) -> Vehicle:
    """A car the customer named by its plate alone (the booking page): a placeholder VIN,
    marked unverified for the advisor to complete at check-in. A current car with this
    plate is offered instead (DuplicateFound)."""
    try:
        plate = normalize_plate(plate)
    except ValidationError as exc:
        raise ValidationError({"plate": exc.messages}) from exc
    existing = Vehicle.objects.filter(plate=plate, is_active=True).select_related("owner").first()
    if existing:
        raise DuplicateFound(
            _("车牌 %(plate)s 已登记。") % {"plate": plate}, existing=existing, field="plate"
        )
    vehicle = Vehicle(
        owner=owner,
        vin=UNVERIFIED_VIN_PREFIX + secrets.token_hex(8).upper(),
        plate=plate,
        verified=False,
        verification_note=note[:100],
    )
    try:
        with transaction.atomic():
            vehicle.save()
    except IntegrityError as exc:
        raise DomainError(_("该车辆刚刚被其他人登记，请重新搜索。"), code="vehicle_race") from exc
    return vehicle


@transaction.atomic
def vehicle_complete(
    *, vehicle: Vehicle, vin: str, by, vin_check_override: bool = False
) -> Vehicle:
    """The advisor completes a car the booking page registered by its plate (unverified,
    a placeholder VIN): its real VIN from the registration certificate. A car already
    registered with that VIN is offered instead (DuplicateFound), as at registration."""
    errors: dict = {}
    vin = _collect(errors, "vin", normalize_vin, vin, allow_bad_check_digit=vin_check_override)
    if errors:
        raise ValidationError(errors)
    vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
    existing = Vehicle.objects.filter(vin=vin).exclude(pk=vehicle.pk).select_related("owner")
    if existing := existing.first():
        raise DuplicateFound(
            _("车架号 %(vin)s 已登记（车牌 %(plate)s，车主 %(owner)s）。")
            % {"vin": vin, "plate": existing.plate or "-", "owner": existing.owner.name},
            existing=existing,
            field="vin",
        )
    override = vin_check_override and vin[8] != vin_check_digit(vin)
    vehicle.vin, vehicle.vin_check_override = vin, override
    vehicle.vin_override_by = by if override else None
    vehicle.vin_override_at = timezone.now() if override else None
    vehicle.verified, vehicle.verification_note = True, ""
    vehicle._history_user = by
    vehicle._change_reason = "completed after online booking"
    vehicle.save()
    return vehicle


def customer_mark_do_not_contact(*, customer: Customer, by=None, reason: str = "") -> Customer:
    """The customer refused further contact (on a call, say): recorded with who and why.
    Only the shop lifts it again, in the browser (customer_update)."""
    customer.do_not_contact = True
    customer._history_user = by
    customer._change_reason = reason
    customer.save(update_fields=["do_not_contact", "updated_at"])
    emit_contact_withdrawn(customer_ids=[customer.pk])
    return customer


def customer_bind_wechat(*, customer_id: int, openid: str, source: str) -> Customer | None:
    """The customer opened one of their links inside WeChat and agreed to bind it: the
    OpenID is stored with the time and the page (customers.models.WeChatSource). Nothing
    for a customer since erased or merged away (None)."""
    with transaction.atomic():
        customer = (
            Customer.objects.select_for_update()
            .filter(pk=customer_id, merged_into__isnull=True, erased_at__isnull=True)
            .first()
        )
        if customer is None:
            return None
        customer.wechat_openid = openid[:64]
        customer.wechat_bound_at = timezone.now()
        customer.wechat_bound_source = source
        customer._change_reason = f"wechat binding ({source})"
        customer.save(
            update_fields=["wechat_openid", "wechat_bound_at", "wechat_bound_source", "updated_at"]
        )
    return customer


def vehicle_record_odometer(*, vehicle: Vehicle, odometer_km: int, by=None) -> None:
    """Keep the highest odometer reading as the vehicle's last known one."""
    if vehicle.odometer_km is None or odometer_km > vehicle.odometer_km:
        vehicle.odometer_km = odometer_km
        vehicle._history_user = by
        vehicle.save(update_fields=["odometer_km", "updated_at"])


@transaction.atomic
def customer_update(*, customer: Customer, by=None, **changes) -> Customer:
    """Change a customer's details. The phone is normalised and must stay unique among
    live customers; consent changes record their time and source; history records who."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.is_merged:
        raise DomainError(_("该客户已被合并，请使用合并后的客户。"), code="customer_merged")
    errors: dict = {}
    if "name" in changes:
        changes["name"] = (changes["name"] or "").strip()
        if not changes["name"]:
            errors["name"] = [_("请填写客户姓名。")]
    if "phone" in changes:
        changes["phone"] = _collect(errors, "phone", normalize_phone, changes["phone"])
    if changes.get("phone2"):
        changes["phone2"] = _collect(errors, "phone2", normalize_phone, changes["phone2"])
    if errors:
        raise ValidationError(errors)
    if changes.get("phone") and changes["phone"] != customer.phone:
        _refuse_taken_phone(changes["phone"])
    consent_source = changes.pop("consent_source", "")
    if (
        "marketing_consent" in changes
        and changes["marketing_consent"] != customer.marketing_consent
    ):
        customer.marketing_consent_at = timezone.now()
        customer.marketing_consent_source = consent_source
    withdrawn = (
        (changes.get("do_not_contact") and not customer.do_not_contact)
        or (
            "marketing_consent" in changes
            and customer.marketing_consent
            and not changes["marketing_consent"]
        )
        or (changes.get("service_messages") is False and customer.service_messages)
    )
    for field, value in changes.items():
        setattr(customer, field, value)
    if by is not None and not customer.verified:
        # A member of staff saved the record the booking page created: completed.
        customer.verified, customer.verification_note = True, ""
    customer._history_user = by
    customer.full_clean(validate_unique=False, validate_constraints=False)
    customer.save()
    if withdrawn:
        emit_contact_withdrawn(customer_ids=[customer.pk])
    return customer


@transaction.atomic
def customer_advisor_change(*, customer: Customer, advisor_id, by=None) -> Customer:
    """Give a customer another own advisor (专属顾问), chosen on the customer page: an active
    member of staff in the advisor role. Recorded in the customer's history with who."""
    advisor = advisor_choices().filter(pk=id_or_none(advisor_id)).first()
    if advisor is None:
        raise ValidationError({"advisor": [_("请选择一位在职的服务顾问。")]})
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if customer.is_merged:
        raise DomainError(_("该客户已被合并，请使用合并后的客户。"), code="customer_merged")
    if customer.advisor_id == advisor.pk:
        return customer
    customer.advisor = advisor
    customer._history_user = by
    customer.save(update_fields=["advisor", "updated_at"])
    return customer


TIER_UPDATE_CHUNK = 10_000  # ids per UPDATE: well below PostgreSQL's 65,535 parameters


@transaction.atomic
def customer_value_tiers_set(*, tiers: dict, on: date) -> int:
    """Store each customer's value tier as computed on ``on`` (reports' nightly refresh):
    ``tiers`` is {customer id: tier}; every other customer with a tier gets none (no
    visit in the 24 months). One UPDATE per tier (per 10,000 customers), whatever the
    size of the shop; the tier is a figure, not a change anyone made, so no history.
    Returns the rows written."""
    by_tier: dict[str, list[int]] = {}
    for customer_id, tier in tiers.items():
        if tier not in ValueTier.values:
            raise ValueError(f"not a value tier: {tier!r}")
        by_tier.setdefault(tier, []).append(int(customer_id))
    written = 0
    for tier, ids in by_tier.items():
        for start in range(0, len(ids), TIER_UPDATE_CHUNK):
            written += Customer.objects.filter(
                pk__in=ids[start : start + TIER_UPDATE_CHUNK]
            ).update(value_tier=tier, value_tier_on=on)
    # Everyone the computation did not name (their tier is from an earlier day): none now.
    written += (
        Customer.objects.exclude(value_tier="")
        .filter(Q(value_tier_on__lt=on) | Q(value_tier_on__isnull=True))
        .update(value_tier="", value_tier_on=on)
    )
    return written
