"""The customer's booking pages (issue 18): no login, phone-first, light (no framework),
zh-Hans with an English switch, like the survey and the repair's status page.

/book/ (plate and mobile) or /book/v/<token>/ (a reminder's link: the car and the day
picked, the code to the owner's masked mobile) → /book/code/ → /book/slot/ → the manage
page /book/m/<token>/ (reschedule, cancel). The steps in between live in the session; each
refusal is a clear message and writes nothing (bar a wrong code's counted try)."""

from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from bookings.selectors import free_slots
from bookings.services import SlotFull
from customers.models import Customer, Vehicle
from customers.validators import mask_phone
from followups.booking_links import read_booking_token
from shopcrm.cache import public_page_too_busy
from shopcrm.errors import DomainError
from shopcrm.refusals import errors_of
from visits.models import ServiceType

from . import services

CODE_KEY, VERIFIED_KEY = "onlinebooking_code", "onlinebooking_verified"
DAYS_SHOWN = 14


def _context(**extra) -> dict:
    return {"shop": settings.SHOP_NAME, "shop_phone": settings.SHOP_PHONE, **extra}


def _problems(error: Exception) -> dict:
    """{field or "": [messages]} for the template."""
    return {field or "": found for field, found in errors_of(error).items()}


def _closed(request, state: str):
    code = {"expired": 410, "invalid": 404, "busy": 429}[state]
    return render(request, "onlinebooking/closed.html", _context(state=state), status=code)


def _address(request) -> str:
    return get_client_ip_address(request) or "unknown"


def _send_code(request, *, phone, plate, vehicle=None, suggested: date | None = None):
    row = services.code_request(
        phone=phone, plate=plate, address=_address(request), vehicle=vehicle
    )
    request.session[CODE_KEY] = {
        "id": row.pk,
        "masked": mask_phone(row.phone),
        "suggested": suggested.isoformat() if suggested else "",
        "again": request.path,  # "no code? ask again" goes back here (a reminder's link)
    }
    request.session.pop(VERIFIED_KEY, None)
    return redirect("onlinebooking:code")


@never_cache
@csrf_protect
def start(request):
    """Step 1: the plate and the mobile number."""
    if public_page_too_busy(request, "booking"):
        return _closed(request, "busy")
    values = {"plate": "", "phone": ""}
    if request.method == "POST":
        values = {name: request.POST.get(name, "").strip()[:40] for name in values}
        try:
            return _send_code(request, phone=values["phone"], plate=values["plate"])
        except (DomainError, ValidationError) as error:
            return render(
                request,
                "onlinebooking/start.html",
                _context(values=values, problems=_problems(error)),
                status=400,
            )
    return render(request, "onlinebooking/start.html", _context(values=values, problems={}))


@never_cache
@csrf_protect
def from_link(request, token):
    """A maintenance reminder's or a win-back's link: the car and the suggested day are
    known; the code goes to the owner's mobile, shown masked."""
    if public_page_too_busy(request, "booking"):
        return _closed(request, "busy")
    state, vehicle_id, suggested = read_booking_token(token)
    vehicle = (
        Vehicle.objects.select_related("owner")
        .filter(pk=vehicle_id, is_active=True, owner__erased_at__isnull=True)
        .first()
        if state == "ok"
        else None
    )
    if vehicle is None:
        return _closed(request, state if state != "ok" else "invalid")
    context = _context(vehicle=vehicle, suggested=suggested, token=token, problems={})
    if request.method == "POST":
        try:
            return _send_code(
                request,
                phone=vehicle.owner.phone,
                plate=vehicle.plate,
                vehicle=vehicle,
                suggested=suggested,
            )
        except (DomainError, ValidationError) as error:
            context["problems"] = _problems(error)
            return render(request, "onlinebooking/from_link.html", context, status=400)
    return render(request, "onlinebooking/from_link.html", context)


@never_cache
@csrf_protect
def code(request):
    """Step 2: the one-time code."""
    if public_page_too_busy(request, "booking"):
        return _closed(request, "busy")
    pending = request.session.get(CODE_KEY)
    if not pending:
        return redirect("onlinebooking:start")
    context = _context(
        masked=pending["masked"],
        again=pending.get("again") or reverse("onlinebooking:start"),
        problems={},
    )
    if request.method == "POST":
        try:
            row = services.code_verify(code_id=pending["id"], code=request.POST.get("code", ""))
        except DomainError as error:
            context["problems"] = _problems(error)
            return render(request, "onlinebooking/code.html", context, status=400)
        request.session[VERIFIED_KEY] = {
            "phone": row.phone,
            "plate": row.plate,
            "vehicle_id": row.vehicle_id,
            "suggested": pending.get("suggested", ""),
            "until": (timezone.now() + timedelta(minutes=services.VERIFIED_MINUTES)).isoformat(),
        }
        del request.session[CODE_KEY]
        request.session.cycle_key()  # a proven number: a new session key
        return redirect("onlinebooking:slot")
    return render(request, "onlinebooking/code.html", context)


def _verified(request) -> tuple[services.Verified | None, date | None]:
    held = request.session.get(VERIFIED_KEY)
    if not held or datetime.fromisoformat(held["until"]) <= timezone.now():
        return None, None
    suggested = date.fromisoformat(held["suggested"]) if held.get("suggested") else None
    verified = services.Verified(
        phone=held["phone"], plate=held["plate"], vehicle_id=held.get("vehicle_id")
    )
    return verified, suggested


def _parse_slot(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value or "")
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else None


def _service_type(value: str) -> str:
    return value if value in ServiceType.values else ServiceType.MAINTENANCE


def _days(service_type: str) -> list[tuple[date, list]]:
    """The next DAYS_SHOWN days' slots, by day (full ones shown, not choosable)."""
    by_day: dict[date, list] = {}
    for slot in free_slots(service_type=service_type, start=timezone.localdate(), days=DAYS_SHOWN):
        by_day.setdefault(timezone.localtime(slot.starts_at).date(), []).append(slot)
    return list(by_day.items())


def _picked(days, suggested: date | None, chosen: str) -> str:
    """The slot picked already: the one sent back, else the first free one on the
    suggested day (a reminder's predicted service day)."""
    if chosen:
        return chosen
    for day, slots in days:
        if suggested and day >= suggested:
            for slot in slots:
                if slot.free:
                    return slot.starts_at.isoformat()
    return ""


def _slot_page(
    request,
    *,
    verified,
    suggested,
    service_type,
    chosen="",
    note="",
    problems=None,
    next_free=(),
    status=200,
):
    days = _days(service_type)
    return render(
        request,
        "onlinebooking/slot.html",
        _context(
            plate=verified.plate,
            service_types=ServiceType.choices,
            service_type=service_type,
            days=days,
            picked=_picked(days, suggested, chosen),
            suggested=suggested,
            note=note,
            problems=problems or {},
            next_free=next_free,
        ),
        status=status,
    )


@never_cache
@csrf_protect
def slot(request):
    """Step 3: the service type, a free slot of the next two weeks, a note → booked."""
    if public_page_too_busy(request, "booking"):
        return _closed(request, "busy")
    verified, suggested = _verified(request)
    if verified is None:
        return redirect("onlinebooking:start")
    if request.method != "POST":
        return _slot_page(
            request,
            verified=verified,
            suggested=suggested,
            service_type=_service_type(request.GET.get("service_type", "")),
        )
    service_type = request.POST.get("service_type", "")
    chosen, note = request.POST.get("slot", ""), request.POST.get("note", "")[:1000]
    try:
        _appointment, link = services.online_booking_create(
            verified=verified,
            service_type=service_type,
            scheduled_at=_parse_slot(chosen),
            note=note,
            language=Customer.Language.EN if get_language() == "en" else Customer.Language.ZH_HANS,
        )
    except (DomainError, ValidationError) as error:
        return _slot_page(
            request,
            verified=verified,
            suggested=suggested,
            service_type=_service_type(service_type),
            chosen="" if isinstance(error, SlotFull) else chosen,
            note=note,
            problems=_problems(error),
            next_free=getattr(error, "next_free", ()),
            status=400,
        )
    request.session.pop(VERIFIED_KEY, None)
    return redirect(f"{urlsplit(link).path}?done=booked")


# ---------------------------------------------------------------- the manage page


def _manage_page(request, token, appointment, *, problems=None, next_free=(), status=200, done=""):
    days = _days(appointment.service_type) if appointment.status == "booked" else []
    return render(
        request,
        "onlinebooking/manage.html",
        _context(
            appointment=appointment,
            token=token,
            days=days,
            picked="",
            problems=problems or {},
            next_free=next_free,
            reasons=[(r.value, r.label) for r in services.CUSTOMER_CANCEL_REASONS],
            done=done or request.GET.get("done", ""),
        ),
        status=status,
    )


def _manage_target(request, token):
    if public_page_too_busy(request, "booking"):
        return None, _closed(request, "busy")
    state, appointment = services.appointment_for_token(token)
    if appointment is None:
        return None, _closed(request, state)
    return appointment, None


@never_cache
@csrf_protect
def manage(request, token):
    """The booking, with a new time or a cancellation (the confirmation's link)."""
    appointment, closed = _manage_target(request, token)
    if closed:
        return closed
    return _manage_page(request, token, appointment)


@csrf_protect
def reschedule(request, token):
    if request.method != "POST":
        return redirect("onlinebooking:manage", token=token)
    appointment, closed = _manage_target(request, token)
    if closed:
        return closed
    try:
        services.online_booking_reschedule(
            appointment=appointment, scheduled_at=_parse_slot(request.POST.get("slot", ""))
        )
    except (DomainError, ValidationError) as error:
        return _manage_page(
            request,
            token,
            appointment,
            problems=_problems(error),
            next_free=getattr(error, "next_free", ()),
            status=400,
        )
    return redirect(reverse("onlinebooking:manage", args=[token]) + "?done=rescheduled")


@csrf_protect
def cancel(request, token):
    if request.method != "POST":
        return redirect("onlinebooking:manage", token=token)
    appointment, closed = _manage_target(request, token)
    if closed:
        return closed
    try:
        services.online_booking_cancel(
            appointment=appointment,
            reason=request.POST.get("reason", ""),
            note=request.POST.get("note", "")[:1000],
        )
    except (DomainError, ValidationError) as error:
        return _manage_page(request, token, appointment, problems=_problems(error), status=400)
    return redirect(reverse("onlinebooking:manage", args=[token]) + "?done=cancelled")
