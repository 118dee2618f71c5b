"""The customer's online booking (issue 18): a one-time SMS code proves the mobile number
(rate-limited per number and per client address, expires, a few tries), then the booking
goes through the shop's capacity (bookings.services) with source "online"; the confirmation
and the day-before reminder are service messages (servicemessages) with a link to
reschedule or cancel.

A new customer or car is created only when the booking is made, in its transaction,
marked unverified for the advisor to complete at check-in: a refused booking (a full slot,
a slot in the past) leaves nothing behind."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bookings.services import appointment_book, appointment_reschedule
from customers.contact import Purpose, contactable
from customers.models import Customer, Vehicle
from customers.selectors import customer_find_by_phone
from customers.services import customer_create, vehicle_create_unverified
from customers.validators import normalize_phone, normalize_plate
from messaging.models import Message
from messaging.services import message_enqueue_transactional, sent_in_one_batch
from servicemessages.models import Event
from servicemessages.services import appointment_message_create, appointment_object_key
from shopcalendar import rules as calendar_rules
from shopcrm.errors import DomainError
from shopcrm.tokens import hash_token, new_token
from visits.models import Appointment
from visits.services import appointment_cancel

from .models import BookingCode, ManageLink

CODE_MINUTES = 5
MAX_TRIES = 5
# Code requests: one a minute and five an hour per number, twenty an hour per address
# (customers behind a carrier's NAT share one).
PHONE_GAP = timedelta(seconds=60)
PHONE_PER_HOUR = 5
ADDRESS_PER_HOUR = 20
CODES_KEPT = timedelta(days=1)
# After verifying the code, the customer has this long to pick the slot.
VERIFIED_MINUTES = 30
# The customer may cancel for one of these reasons (the desk's list has the shop's own too).
CUSTOMER_CANCEL_REASONS = (
    Appointment.CancelReason.NOT_NEEDED,
    Appointment.CancelReason.ELSEWHERE,
    Appointment.CancelReason.OTHER,
)
# Stored data, in the shop's language like every name and note (not translated on display).
UNVERIFIED_NAME = "在线预约客户"
UNVERIFIED_NOTE = "在线预约"


def _keyed_hash(kind: str, value: str) -> str:
    key = f"onlinebooking.{kind}:{settings.SECRET_KEY}".encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def _code_hash(code_id: int, code: str) -> str:
    """Six digits are guessed in a million tries: the hash is keyed with the secret key and
    the row's id, so a leaked table gives nothing either."""
    return _keyed_hash("code", f"{code_id}:{code}")


def address_hash(address: str) -> str:
    return _keyed_hash("address", address or "unknown")


# ---------------------------------------------------------------- the one-time code


def _refuse_too_many(phone: str, address: str, now: datetime) -> None:
    hour_ago = now - timedelta(hours=1)
    by_phone = BookingCode.objects.filter(phone=phone, created_at__gt=hour_ago)
    last = by_phone.order_by("-created_at").values_list("created_at", flat=True).first()
    if last is not None and now - last < PHONE_GAP:
        seconds = int((PHONE_GAP - (now - last)).total_seconds()) + 1
        raise DomainError(
            ngettext(
                "验证码已发送，请 %(seconds)d 秒后再重新获取。",
                "验证码已发送，请 %(seconds)d 秒后再重新获取。",
                seconds,
            )
            % {"seconds": seconds},
            code="code_too_soon",
        )
    if by_phone.count() >= PHONE_PER_HOUR:
        raise DomainError(
            _("该手机号获取验证码次数过多，请一小时后再试，或致电本店预约。"),
            code="too_many_codes",
        )
    by_address = BookingCode.objects.filter(address_hash=address, created_at__gt=hour_ago)
    if by_address.count() >= ADDRESS_PER_HOUR:
        raise DomainError(
            _("获取验证码过于频繁，请一小时后再试，或致电本店预约。"), code="too_many_codes"
        )


def _clean_phone_and_plate(phone: str, plate: str) -> tuple[str, str]:
    errors: dict = {}
    try:
        phone = normalize_phone(phone)
        if not phone.startswith("+861"):
            raise ValidationError(_("请填写手机号（验证码以短信发送）。"), code="phone_mobile")
    except ValidationError as exc:
        errors["phone"] = exc.messages
    try:
        plate = normalize_plate(plate)
    except ValidationError as exc:
        errors["plate"] = exc.messages
    if errors:
        raise ValidationError(errors)
    return phone, plate


@transaction.atomic
def code_request(
    *,
    phone: str,
    plate: str,
    address: str,
    vehicle: Vehicle | None = None,
    now: datetime | None = None,
) -> BookingCode:
    """Send a one-time code to ``phone`` for booking the car ``plate`` (a reminder link
    names the ``vehicle``: its owner's phone and its plate). Refused, with nothing written,
    for a bad number or plate and past the rate limits. The code goes out at once, whatever
    the hour, as a transactional SMS through the outbox (blanked there once sent)."""
    now = now or timezone.now()
    phone, plate = _clean_phone_and_plate(phone, plate)
    hashed_address = address_hash(address)
    _refuse_too_many(phone, hashed_address, now)
    code = f"{secrets.randbelow(10**6):06d}"
    row = BookingCode.objects.create(
        phone=phone,
        plate=plate,
        customer=customer_find_by_phone(phone),
        vehicle=vehicle,
        code_hash="",
        address_hash=hashed_address,
        created_at=now,
        expires_at=now + timedelta(minutes=CODE_MINUTES),
    )
    row.code_hash = _code_hash(row.pk, code)
    row.save(update_fields=["code_hash"])
    message_enqueue_transactional(
        purpose=Message.Purpose.BOOKING_CODE,
        phone=phone,
        object_key=f"booking_code:{row.pk}",
        body=_("【%(shop)s】您的预约验证码是 %(code)s，%(minutes)s 分钟内有效。请勿告诉他人。")
        % {"shop": settings.SHOP_NAME, "code": code, "minutes": CODE_MINUTES},
        template_code=settings.SMS_TEMPLATE_BOOKING_CODE,
        params={"code": code},
        secret_params=("code",),
    )
    return row


@dataclass(frozen=True)
class CodeCheck:
    """What checking a code found: ``row`` when it was right, else ``error``."""

    row: BookingCode | None = None
    error: DomainError | None = None


def code_verify(*, code_id: int, code: str, now: datetime | None = None) -> BookingCode:
    """Check ``code`` against the row the page sent. A wrong one counts a try (committed:
    the one write a bad code makes); past MAX_TRIES, or CODE_MINUTES after it was sent, the
    code is dead and a new one must be asked for."""
    with transaction.atomic():
        check = _check_code(code_id, (code or "").strip(), now or timezone.now())
    if check.error is not None:
        raise check.error
    return check.row


def _check_code(code_id: int, code: str, now: datetime) -> CodeCheck:
    row = BookingCode.objects.select_for_update().filter(pk=code_id).first()
    if row is None or row.verified_at is not None:
        return CodeCheck(error=DomainError(_("请先获取验证码。"), code="no_code"))
    if row.attempts >= MAX_TRIES:
        return CodeCheck(
            error=DomainError(_("验证码错误次数过多，请重新获取验证码。"), code="too_many_tries")
        )
    if row.expires_at <= now:
        return CodeCheck(error=DomainError(_("验证码已过期，请重新获取。"), code="code_expired"))
    if not (code.isdigit() and hmac.compare_digest(row.code_hash, _code_hash(row.pk, code))):
        row.attempts += 1
        row.save(update_fields=["attempts"])
        left = MAX_TRIES - row.attempts
        if not left:
            message = _("验证码错误次数过多，请重新获取验证码。")
        else:
            message = ngettext(
                "验证码不正确，还可以再试 %(left)d 次。",
                "验证码不正确，还可以再试 %(left)d 次。",
                left,
            ) % {"left": left}
        return CodeCheck(error=DomainError(message, code="wrong_code", field="code"))
    row.verified_at = now
    row.save(update_fields=["verified_at"])
    return CodeCheck(row=row)


# ---------------------------------------------------------------- booking


@dataclass(frozen=True)
class Verified:
    """Who proved their number, for which car (kept in the page's session)."""

    phone: str
    plate: str
    vehicle_id: int | None = None


def _customer_and_vehicle(verified: Verified, language: str) -> tuple[Customer, Vehicle]:
    """The number's customer and the plate's car, found or created unverified. A car named
    by a reminder's link is that car (its owner received the code); a current car with the
    plate is used as it is (the advisor sees who brings it at check-in)."""
    note = f"{UNVERIFIED_NOTE} {timezone.localdate().isoformat()}"
    vehicle = None
    if verified.vehicle_id:
        vehicle = Vehicle.objects.select_related("owner").filter(pk=verified.vehicle_id).first()
    if vehicle is None:
        vehicle = Vehicle.objects.filter(plate=verified.plate, is_active=True).first()
    customer = customer_find_by_phone(verified.phone)
    if customer is None and vehicle is not None and vehicle.owner.phone == verified.phone:
        customer = vehicle.owner
    if customer is None:
        customer = customer_create(
            name=UNVERIFIED_NAME,
            phone=verified.phone,
            preferred_language=language,
            verified=False,
            verification_note=note,
        )
    if vehicle is None:
        vehicle = vehicle_create_unverified(owner=customer, plate=verified.plate, note=note)
    return customer, vehicle


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > 200:
        raise ValidationError({"notes": [_("备注最多 200 个字。")]})
    return note


@transaction.atomic
def online_booking_create(
    *,
    verified: Verified,
    service_type: str,
    scheduled_at: datetime | None,
    note: str = "",
    language: str = Customer.Language.ZH_HANS,
) -> tuple[Appointment, str]:
    """Book the slot for the verified customer (source online): (appointment, a manage
    link for the confirmation page). The confirmation message is queued with a link of its
    own. A refusal (ValidationError, bookings' SlotFull) writes nothing — not the new
    customer or car either."""
    note = _clean_note(note)
    customer, vehicle = _customer_and_vehicle(verified, language)
    appointment = appointment_book(
        customer=customer,
        vehicle=vehicle,
        scheduled_at=scheduled_at,
        service_type=service_type,
        source=Appointment.Source.ONLINE,
        notes=note,
    )
    booking_message_create(event=Event.BOOKING_CONFIRMED, appointment=appointment)
    return appointment, manage_link_create(appointment=appointment)


@transaction.atomic
def online_booking_reschedule(
    *, appointment: Appointment, scheduled_at: datetime | None
) -> Appointment:
    """The customer moves the appointment (the same capacity rules, the old slot freed);
    the confirmation of the new time is queued."""
    if appointment.status != Appointment.Status.BOOKED:
        raise DomainError(_("该预约已不能修改。"), code="appointment_not_booked")
    if scheduled_at is None:
        raise ValidationError({"scheduled_at": [_("请选择预约时段。")]})
    appointment = appointment_reschedule(appointment=appointment, scheduled_at=scheduled_at)
    booking_message_create(event=Event.BOOKING_CONFIRMED, appointment=appointment)
    return appointment


def online_booking_cancel(*, appointment: Appointment, reason: str, note: str = "") -> Appointment:
    """The customer cancels, with one of the customer's reasons."""
    if reason not in CUSTOMER_CANCEL_REASONS:
        raise ValidationError({"reason": [_("请选择取消原因。")]})
    with transaction.atomic():
        return appointment_cancel(appointment=appointment, reason=reason, note=note)


# ---------------------------------------------------------------- manage links and messages


def manage_link_create(*, appointment: Appointment) -> str:
    """A new link to reschedule or cancel ``appointment`` (one per message that carries it)."""
    token, token_hash = new_token()
    ManageLink.objects.create(appointment=appointment, token_hash=token_hash)
    return f"{settings.SHOPCRM_PUBLIC_URL.rstrip('/')}/book/m/{token}/"


def link_expires_at(appointment: Appointment) -> datetime:
    """The end of the appointment's day: after the appointment the link has done its work."""
    day = timezone.localtime(appointment.scheduled_at).date()
    return calendar_rules.start_of(day + timedelta(days=1))


def appointment_for_token(
    token: str, *, now: datetime | None = None
) -> tuple[str, Appointment | None]:
    """("ok", appointment), ("expired", None) or ("invalid", None)."""
    if not token or len(token) > 100:
        return "invalid", None
    link = (
        ManageLink.objects.select_related("appointment__vehicle", "appointment__customer")
        .filter(token_hash=hash_token(token))
        .first()
    )
    if link is None:
        return "invalid", None
    if link_expires_at(link.appointment) <= (now or timezone.now()):
        return "expired", None
    return "ok", link.appointment


def booking_message_create(*, event: str, appointment: Appointment) -> Message | None:
    """The confirmation or the reminder of ``appointment``, once per (event, appointment,
    slot), with a manage link of its own."""
    return appointment_message_create(
        event=event,
        appointment=appointment,
        link_for=lambda: manage_link_create(appointment=appointment),
    )


def booking_reminder_create_due(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Beat sweep: the day-before reminder of every appointment booked for tomorrow (the
    DMS's own appointments excepted: the DMS reminds its customers), once per appointment
    and slot (the outbox key: a second run, or two beats, make nothing). Customers the
    contact rules refuse are left out in the query; the sender asks again and keeps the
    quiet hours."""
    now = now or timezone.now()
    tomorrow = timezone.localtime(now).date() + timedelta(days=1)
    appointments = (
        Appointment.objects.filter(
            status=Appointment.Status.BOOKED,
            scheduled_at__gte=calendar_rules.start_of(tomorrow),
            scheduled_at__lt=calendar_rules.start_of(tomorrow + timedelta(days=1)),
        )
        .exclude(source=Appointment.Source.DMS)
        .filter(contactable(Purpose.SERVICE, prefix="customer__"))
        .select_related("customer", "vehicle")
        .order_by("pk")[:limit]
    )
    made = 0
    with sent_in_one_batch():
        for appointment in appointments:
            made += _reminder_made(appointment)
    return made


def _reminder_made(appointment: Appointment) -> bool:
    key = appointment_object_key(appointment)
    if Message.objects.filter(purpose=Event.BOOKING_REMINDER, object_key=key).exists():
        return False
    return booking_message_create(event=Event.BOOKING_REMINDER, appointment=appointment) is not None


def booking_codes_prune(*, now: datetime | None = None) -> int:
    """The spent codes go after a day (they hold a phone number; the rate limits look back
    one hour)."""
    cutoff = (now or timezone.now()) - CODES_KEPT
    return BookingCode.objects.filter(created_at__lt=cutoff).delete()[0]


def suggested_or_first_day(suggested: date | None) -> date:
    return max(suggested or date.min, timezone.localdate())
