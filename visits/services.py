"""Writes on appointments and visits: check-in, the workshop state machine, delivery."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Vehicle
from customers.services import customer_create, vehicle_create, vehicle_record_odometer
from shopcrm.errors import DomainError

from .events import (
    emit_appointments_missed,
    emit_promise_revised,
    emit_visit_checked_in,
    emit_visit_delivered,
    emit_visit_ready,
)
from .models import Appointment, PromiseRevision, RoNumberSequence, Visit
from .rules import PROMISE_SLACK, UNDO_WINDOW, allowed_transitions, next_step
from .selectors import open_visit_of
from .workitems import recommendations_add

S = Visit.Status


def ro_number_next(*, day: date) -> str:
    """RO-YYYYMMDD-NNNN, numbered per day under a row lock (no duplicates under load)."""
    RoNumberSequence.objects.get_or_create(day=day)
    sequence = RoNumberSequence.objects.select_for_update().get(day=day)
    sequence.last = F("last") + 1
    sequence.save(update_fields=["last"])
    sequence.refresh_from_db(fields=["last"])
    return f"RO{day:%Y%m%d}{sequence.last:04d}"


# ---------------------------------------------------------------- appointments


@transaction.atomic
def appointment_create(
    *,
    customer: Customer,
    vehicle: Vehicle,
    scheduled_at: datetime,
    service_type: str,
    advisor=None,
    notes: str = "",
    source: str = Appointment.Source.DESK,
    by=None,
) -> Appointment:
    if scheduled_at is None:
        raise ValidationError({"scheduled_at": [_("请填写预约时间。")]})
    if scheduled_at < timezone.now() - timedelta(minutes=5):
        raise ValidationError({"scheduled_at": [_("预约时间不能早于现在。")]})
    if customer.is_merged:
        raise DomainError(_("该客户已被合并，请使用合并后的客户。"), code="customer_merged")
    appointment = Appointment(
        customer=customer,
        vehicle=vehicle,
        scheduled_at=scheduled_at,
        service_type=service_type,
        advisor=advisor,
        notes=notes,
        source=source,
    )
    appointment._history_user = by
    appointment.full_clean(validate_unique=False, validate_constraints=False)
    appointment.save()
    return appointment


@transaction.atomic
def appointment_cancel(
    *, appointment: Appointment, reason: str, note: str = "", by=None
) -> Appointment:
    """Cancel a booked appointment with its reason (a code; "other" needs a note)."""
    note = (note or "").strip()
    errors = {}
    if reason not in Appointment.CancelReason.values:
        errors["reason"] = [_("请选择取消原因。")]
    elif reason == Appointment.CancelReason.OTHER and not note:
        errors["note"] = [_("选择“其他”时请写明原因。")]
    if len(note) > 200:
        errors["note"] = [_("最多 200 个字。")]
    if errors:
        raise ValidationError(errors)
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status != Appointment.Status.BOOKED:
        raise DomainError(_("该预约已不是待到店状态。"), code="appointment_not_booked")
    appointment.status = Appointment.Status.CANCELLED
    appointment.cancel_reason, appointment.cancel_note = reason, note
    appointment.status_changed_at = timezone.now()
    appointment._history_user = by
    appointment.save()
    return appointment


def appointment_mark_no_shows(*, now: datetime | None = None) -> int:
    """Booked appointments more than the grace period past their time become no-shows, and
    "appointments missed" is sent with their ids once this commits (the missed-appointment
    call hangs on it; its sweep catches any the event missed).

    The rows are taken under SKIP LOCKED and changed only while still booked: a second run,
    or two beats at once, finds nothing to change and sends nothing twice.
    """
    now = now or timezone.now()
    cutoff = now - settings.SHOPCRM_NO_SHOW_GRACE
    with transaction.atomic():
        due = list(
            Appointment.objects.select_for_update(skip_locked=True)
            .filter(status=Appointment.Status.BOOKED, scheduled_at__lt=cutoff)
            .values_list("pk", flat=True)
        )
        changed = Appointment.objects.filter(pk__in=due, status=Appointment.Status.BOOKED).update(
            status=Appointment.Status.NO_SHOW, status_changed_at=now, updated_at=now
        )
        if due:
            emit_appointments_missed(appointment_ids=due)
    return changed


# ---------------------------------------------------------------- visits


@transaction.atomic
def visit_check_in(
    *,
    customer: Customer,
    vehicle: Vehicle,
    advisor,
    service_type: str,
    promised_at: datetime | None,
    concern: str = "",
    walkaround_notes: str = "",
    odometer_km: int | None = None,
    confirm_lower_odometer: bool = False,
    estimated_amount: Decimal | None = None,
    by_appointment: bool = False,
    appointment: Appointment | None = None,
    checked_in_at: datetime | None = None,
) -> Visit:
    """Open a repair order for a vehicle at the desk."""
    checked_in_at = checked_in_at or timezone.now()
    vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
    errors = _check_in_errors(
        vehicle=vehicle,
        checked_in_at=checked_in_at,
        promised_at=promised_at,
        odometer_km=odometer_km,
        confirm_lower_odometer=confirm_lower_odometer,
        estimated_amount=estimated_amount,
    )
    if errors:
        raise ValidationError(errors)
    if customer.is_merged:
        raise DomainError(_("该客户已被合并，请使用合并后的客户。"), code="customer_merged")
    open_visit = open_visit_of(vehicle=vehicle)
    if open_visit:
        raise DomainError(
            _("该车辆已有在修工单 %(ro)s，不能重复接车。") % {"ro": open_visit.ro_number},
            code="already_in_workshop",
        )
    if appointment is not None:
        appointment = _appointment_arrive(appointment, at=checked_in_at, by=advisor)
        by_appointment = True
    visit = Visit(
        ro_number=ro_number_next(day=timezone.localdate(checked_in_at)),
        vehicle=vehicle,
        customer=customer,
        advisor=advisor,
        appointment=appointment,
        service_type=service_type,
        status=S.CHECKED_IN,
        checked_in_at=checked_in_at,
        promised_at=promised_at,
        first_promised_at=promised_at,
        odometer_km=odometer_km,
        odometer_lower_confirmed=bool(
            confirm_lower_odometer
            and odometer_km is not None
            and vehicle.odometer_km is not None
            and odometer_km < vehicle.odometer_km
        ),
        concern=concern,
        walkaround_notes=walkaround_notes,
        estimated_amount=estimated_amount,
        by_appointment=by_appointment,
    )
    visit._history_user = advisor
    visit.save()
    customer_advisor_from_first_visit(customer_ids=[customer.pk])
    if odometer_km is not None:
        vehicle_record_odometer(vehicle=vehicle, odometer_km=odometer_km, by=advisor)
    emit_visit_checked_in(visit_id=visit.pk, source="browser")
    return visit


def customer_advisor_from_first_visit(*, customer_ids=None) -> int:
    """Customers without their own advisor get the advisor of their first visit (the
    earliest checked in that has one): at a desk check-in and a DMS sync, in the
    visit's transaction, for the visit's customers; and by the beat sweep (``customer_ids``
    None: every customer), which makes the database the truth whatever path created a
    visit. One UPDATE; customers with an advisor, or no visit with one, are not touched
    (so a second run writes nothing). Returns how many customers it assigned."""
    first_advisor = (
        Visit.objects.filter(customer_id=OuterRef("pk"), advisor__isnull=False)
        .order_by("checked_in_at", "pk")
        .values("advisor_id")[:1]
    )
    customers = Customer.objects.filter(advisor__isnull=True)
    if customer_ids is not None:
        customers = customers.filter(pk__in=list(customer_ids))
    return customers.filter(
        Exists(Visit.objects.filter(customer_id=OuterRef("pk"), advisor__isnull=False))
    ).update(advisor_id=Subquery(first_advisor))


def _check_in_errors(
    *, vehicle, checked_in_at, promised_at, odometer_km, confirm_lower_odometer, estimated_amount
) -> dict:
    """The field errors of a check-in: the promise after the check-in, a plausible odometer
    (a lower reading than the last one only when confirmed), no negative estimate."""
    errors: dict = {}
    if promised_at is None:
        errors["promised_at"] = [_("请填写承诺交车时间。")]
    elif promised_at <= checked_in_at:
        errors["promised_at"] = [_("承诺交车时间必须晚于接车时间。")]
    if odometer_km is not None:
        if odometer_km < 0:
            errors["odometer_km"] = [_("里程不能为负数。")]
        elif (
            vehicle.odometer_km is not None
            and odometer_km < vehicle.odometer_km
            and not confirm_lower_odometer
        ):
            errors["odometer_km"] = [
                _("里程 %(new)s 公里低于上次记录的 %(old)s 公里，请核对；如无误请勾选确认。")
                % {"new": odometer_km, "old": vehicle.odometer_km}
            ]
    if estimated_amount is not None and estimated_amount < 0:
        errors["estimated_amount"] = [_("预估金额不能为负数。")]
    return errors


def _appointment_arrive(appointment: Appointment, *, at: datetime, by) -> Appointment:
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    if appointment.status != Appointment.Status.BOOKED:
        raise DomainError(_("该预约已不是待到店状态。"), code="appointment_not_booked")
    appointment.status = Appointment.Status.ARRIVED
    appointment.status_changed_at = at
    appointment._history_user = by
    appointment.save()
    return appointment


def _lock(visit: Visit) -> Visit:
    return Visit.objects.select_for_update().get(pk=visit.pk)


def _refuse_transition(visit: Visit, to_status: str):
    raise DomainError(
        _("工单 %(ro)s 当前为“%(current)s”，不能变更为“%(target)s”。")
        % {
            "ro": visit.ro_number,
            "current": visit.get_status_display(),
            "target": S(to_status).label if to_status in S.values else to_status,
        },
        code="illegal_transition",
    )


@transaction.atomic
def visit_transition(*, visit: Visit, to_status: str, by=None) -> Visit:
    """Move a visit one step through the workshop (not delivery or cancellation)."""
    visit = _lock(visit)
    if to_status in (S.DELIVERED, S.CANCELLED) or to_status not in allowed_transitions(
        visit.status
    ):
        _refuse_transition(visit, to_status)
    visit.status = to_status
    visit._history_user = by
    visit.save()
    if to_status == S.READY:
        emit_visit_ready(visit_id=visit.pk, source="browser")
    return visit


@transaction.atomic
def visit_step_undo(*, visit: Visit, from_status: str, by, now: datetime | None = None) -> Visit:
    """Take back a one-tap step made on the board (rules.NEXT_STEP): only by whoever made
    it, within rules.UNDO_WINDOW, and only while it is still the visit's last change."""
    now = now or timezone.now()
    visit = _lock(visit)
    last = visit.history.order_by("-history_date", "-history_id").first()
    previous = last.prev_record if last is not None else None
    if (
        next_step(from_status) != visit.status
        or last is None
        or last.status != visit.status
        or last.history_user_id != by.pk
        or last.history_date < now - UNDO_WINDOW
        or previous is None
        or previous.status != from_status
    ):
        raise DomainError(
            _("工单 %(ro)s 无法撤销：已超过 5 分钟，或之后已有新的变化。")
            % {"ro": visit.ro_number},
            code="undo_not_possible",
        )
    visit.status = from_status
    visit._history_user = by
    visit.save()
    return visit


@transaction.atomic
def visit_promise_revise(
    *,
    visit: Visit,
    promised_at: datetime | None,
    reason: str,
    note: str = "",
    by=None,
    now: datetime | None = None,
) -> PromiseRevision:
    """Give the customer a new promised time, with its reason (a code; "other" needs a
    note). The first promise stays (``first_promised_at``; this one becomes it when the
    visit had none); the revision is recorded and "promise revised" sent after commit."""
    now = now or timezone.now()
    note = (note or "").strip()
    visit = _lock(visit)
    if visit.status not in Visit.IN_WORKSHOP:
        raise DomainError(
            _("工单 %(ro)s 当前为“%(status)s”，不能再修改承诺交车时间。")
            % {"ro": visit.ro_number, "status": visit.get_status_display()},
            code="promise_final",
        )
    errors: dict = {}
    if promised_at is None:
        errors["promised_at"] = [_("请填写新的承诺交车时间。")]
    elif promised_at <= visit.checked_in_at:
        errors["promised_at"] = [_("承诺交车时间必须晚于接车时间。")]
    elif promised_at < now - PROMISE_SLACK:
        errors["promised_at"] = [_("新的承诺交车时间不能早于现在。")]
    elif promised_at == visit.promised_at:
        errors["promised_at"] = [_("新的承诺交车时间与当前承诺相同。")]
    if reason not in PromiseRevision.Reason.values:
        errors["reason"] = [_("请选择修改原因。")]
    elif reason == PromiseRevision.Reason.OTHER and not note:
        errors["note"] = [_("选择“其他”时请写明原因。")]
    if len(note) > 200:
        errors["note"] = [_("最多 200 个字。")]
    if errors:
        raise ValidationError(errors)
    revision = PromiseRevision.objects.create(
        visit=visit,
        from_promised_at=visit.promised_at,
        to_promised_at=promised_at,
        reason=reason,
        note=note,
        by=by,
        at=now,
    )
    if visit.first_promised_at is None:
        visit.first_promised_at = promised_at
    visit.promised_at = promised_at
    visit.promise_revisions += 1  # the row is locked
    visit._history_user = by
    visit.save()
    emit_promise_revised(visit=visit, revision=revision)
    return revision


@transaction.atomic
def visit_deliver(
    *,
    visit: Visit,
    labour_amount: Decimal,
    parts_amount: Decimal,
    total_amount: Decimal | None = None,
    delivered_at: datetime | None = None,
    checklist: dict | None = None,
    by=None,
    source: str = "browser",
) -> Visit:
    """Hand the car back: record final amounts, time and the delivery checklist (items not
    ticked are recorded as not done: the delivery is allowed, the checklist counts as not
    complete), then emit "visit delivered"."""
    visit = _lock(visit)
    if S.DELIVERED not in allowed_transitions(visit.status):
        _refuse_transition(visit, S.DELIVERED)
    errors: dict = _checklist_errors(checklist or {})
    for field, value in (("labour_amount", labour_amount), ("parts_amount", parts_amount)):
        if value is None:
            errors[field] = [_("请填写金额（没有请填 0）。")]
        elif value < 0:
            errors[field] = [_("金额不能为负数。")]
    if total_amount is not None and total_amount < 0:
        errors["total_amount"] = [_("金额不能为负数。")]
    delivered_at = delivered_at or timezone.now()
    if delivered_at < visit.checked_in_at:
        errors["delivered_at"] = [_("交车时间不能早于接车时间。")]
    if errors:
        raise ValidationError(errors)
    visit.labour_amount = labour_amount
    visit.parts_amount = parts_amount
    # The total may differ from the sum (discounts, goodwill); it defaults to the sum.
    visit.total_amount = total_amount if total_amount is not None else labour_amount + parts_amount
    visit.delivered_at = delivered_at
    visit.status = S.DELIVERED
    if checklist is not None:
        _record_checklist(visit, checklist, by=by, at=delivered_at)
    visit._history_user = by
    visit.save()
    emit_visit_delivered(visit_id=visit.pk, source=source)
    return visit


CHECKLIST_DETAILS = ("next_service_advised_on", "next_service_advised_km")


def _checklist_errors(checklist: dict) -> dict:
    """Advice given names the next service (a date, km or both); a date not before today."""
    errors: dict = {}
    on, km = (checklist.get(name) for name in CHECKLIST_DETAILS)
    if checklist.get("checklist_next_service_advised") and on is None and km is None:
        errors["next_service_advised_on"] = [_("已告知下次保养时，请填写建议日期或里程。")]
    if on is not None and on < timezone.localdate():
        errors["next_service_advised_on"] = [_("建议下次保养日期不能早于今天。")]
    if km is not None and km < 0:
        errors["next_service_advised_km"] = [_("里程不能为负数。")]
    return errors


def _record_checklist(visit: Visit, checklist: dict, *, by, at: datetime) -> None:
    for name in Visit.CHECKLIST:
        setattr(visit, name, bool(checklist.get(name)))
    for name in CHECKLIST_DETAILS:
        setattr(visit, name, checklist.get(name))
    visit.checklist_by, visit.checklist_at = by, at


@transaction.atomic
def visit_cancel(*, visit: Visit, reason: str, by=None) -> Visit:
    visit = _lock(visit)
    if S.CANCELLED not in allowed_transitions(visit.status):
        _refuse_transition(visit, S.CANCELLED)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"cancel_reason": [_("请填写取消原因。")]})
    visit.status = S.CANCELLED
    visit.cancel_reason = reason[:200]
    visit._history_user = by
    visit.save()
    return visit


@transaction.atomic
def visit_check_in_at_desk(
    *,
    advisor,
    customer: Customer | None = None,
    vehicle: Vehicle | None = None,
    new_customer: dict | None = None,
    new_vehicle: dict | None = None,
    recommendation_ids=(),
    **visit_fields,
) -> Visit:
    """The desk's check-in in one transaction: create the customer and vehicle if they are
    new, then open the visit with the vehicle's recommendations the advisor ticked (one tap
    each). Any refusal leaves nothing written."""
    if vehicle is None:
        if customer is None:
            customer = customer_create(by=advisor, **(new_customer or {}))
        vehicle = vehicle_create(owner=customer, by=advisor, **(new_vehicle or {}))
    customer = customer or vehicle.owner
    visit = visit_check_in(customer=customer, vehicle=vehicle, advisor=advisor, **visit_fields)
    recommendations_add(visit=visit, recommendation_ids=recommendation_ids, by=advisor)
    return visit
