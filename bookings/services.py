"""Booking a slot against the shop's capacity, from the booking page, the call screen or the
service desk: the time is checked (not past, after the lead time, a slot start on an open
day), then the slot is locked and counted, and the appointment written through
``visits.services.appointment_create`` — or SlotFull says so with the next free slots.

The DMS sync keeps writing through ``appointment_create`` directly: the DMS is the source of
truth, its appointments are counted here but never refused."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shopcalendar import rules as calendar_rules
from shopcalendar import selectors as calendar
from shopcrm.errors import DomainError
from visits.models import Appointment, ServiceType
from visits.services import appointment_create

from .models import SlotLock
from .selectors import Settings, Slot, booking_settings, next_free_slots, slot_counts, slot_of
from .selectors import slot_state as _slot_state


class SlotFull(DomainError):
    """The slot has no place left for the service type; ``next_free`` offers the next ones."""

    def __init__(self, *, next_free: list[Slot]):
        if next_free:
            message = _("该时段已约满。最近可约：%(slots)s。") % {
                "slots": "、".join(slot_label(slot) for slot in next_free)
            }
        else:
            message = _("该时段已约满，近期没有可约的时段。")
        super().__init__(message, code="slot_full", field="scheduled_at")
        self.next_free = next_free


def slot_label(slot: Slot) -> str:
    return f"{timezone.localtime(slot.starts_at):%m-%d %H:%M}"


def check_slot(
    settings: Settings, scheduled_at: datetime | None, service_type: str, now: datetime
) -> None:
    """A ValidationError keyed by field when ``scheduled_at`` is no bookable slot start."""
    if service_type not in ServiceType.values:
        raise ValidationError({"service_type": [_("请选择服务类型。")]})
    if scheduled_at is None:
        raise ValidationError({"scheduled_at": [_("请选择预约时段。")]})
    if scheduled_at <= now:
        message = _("该时段已过，请选择以后的时段。")
    elif scheduled_at < settings.earliest(now):
        minutes = int(settings.lead.total_seconds() // 60)
        message = ngettext(
            "须至少提前 %(minutes)d 分钟预约，请选择以后的时段。",
            "须至少提前 %(minutes)d 分钟预约，请选择以后的时段。",
            minutes,
        ) % {"minutes": minutes}
    elif timezone.localtime(scheduled_at).date() > settings.last_day(now):
        message = ngettext(
            "只能预约 %(days)d 天之内的时段。",
            "只能预约 %(days)d 天之内的时段。",
            settings.days_ahead,
        ) % {"days": settings.days_ahead}
    elif not _open_day(settings, scheduled_at):
        message = _("该日门店休息，不接受预约，请另选日期。")
    elif slot_of(settings, scheduled_at) is None:
        message = _("请选择一个预约时段的开始时间（如 %(example)s）。") % {
            "example": settings.opens_at.strftime("%H:%M")
        }
    else:
        return
    raise ValidationError({"scheduled_at": [message]})


def _open_day(settings: Settings, moment: datetime) -> bool:
    day = calendar_rules.local_day(moment)
    return bool(settings.slot_starts(day, calendar.holidays_between(day, day)))


def _take_slot(
    settings: Settings, starts_at: datetime, service_type: str, now: datetime, *, exclude_pk=None
) -> None:
    """Lock the slot's row (created on first use), then count: SlotFull when no place is
    left. The lock is held to the end of the caller's transaction."""
    SlotLock.objects.get_or_create(starts_at=starts_at)
    SlotLock.objects.select_for_update().get(starts_at=starts_at)
    overall, by_type = slot_counts(starts_at, starts_at + settings.slot, exclude_pk=exclude_pk)
    if _slot_state(settings, starts_at, service_type, overall, by_type).free <= 0:
        raise SlotFull(
            next_free=next_free_slots(service_type=service_type, after=starts_at, now=now)
        )


def appointment_book(
    *,
    customer,
    vehicle,
    scheduled_at: datetime,
    service_type: str,
    source: str,
    advisor=None,
    notes: str = "",
    by=None,
    now: datetime | None = None,
) -> Appointment:
    """Book a slot: checked, locked, counted, written — or ValidationError / SlotFull with
    nothing written."""
    now = now or timezone.now()
    settings = booking_settings()
    check_slot(settings, scheduled_at, service_type, now)
    if source not in Appointment.Source.values:
        raise ValidationError({"source": [_("请选择预约来源。")]})
    with transaction.atomic():
        _take_slot(settings, scheduled_at, service_type, now)
        return appointment_create(
            customer=customer,
            vehicle=vehicle,
            scheduled_at=scheduled_at,
            service_type=service_type,
            advisor=advisor,
            notes=notes,
            source=source,
            by=by,
        )


@transaction.atomic
def appointment_reschedule(
    *, appointment: Appointment, scheduled_at: datetime, by=None, now: datetime | None = None
) -> Appointment:
    """Move a booked appointment to another slot under the same rules and lock; its old place
    is free once this commits."""
    now = now or timezone.now()
    settings = booking_settings()
    check_slot(settings, scheduled_at, appointment.service_type, now)
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status != Appointment.Status.BOOKED:
        raise DomainError(_("该预约已不是待到店状态。"), code="appointment_not_booked")
    _take_slot(settings, scheduled_at, appointment.service_type, now, exclude_pk=appointment.pk)
    appointment.scheduled_at = scheduled_at
    appointment._history_user = by
    appointment.save(update_fields=["scheduled_at", "updated_at"])
    return appointment
