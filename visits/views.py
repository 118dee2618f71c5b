from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from bookings import selectors as booking_selectors
from bookings import services as booking_services
from customers import access as customer_access
from customers.history import history_entries
from customers.models import Customer
from customers.validators import clean_plate_text
from followups import selectors as followup_selectors
from shopcalendar import rules as shop_rules
from shopcrm.access import PermissionRequired, id_or_none
from shopcrm.cache import public_page_too_busy
from shopcrm.errors import DomainError
from shopcrm.refusals import REFUSED, RefusalMixin, message_of
from workflows.glance import customer_glance

from . import access, rules, selectors, services, status, workitems
from .forms import (
    SLOT_FORMAT,
    AppointmentCancelForm,
    AppointmentForm,
    CancelForm,
    CheckInForm,
    DeliveryChecklistForm,
    ExtraWorkForm,
    PromiseReviseForm,
    SlotDayForm,
)
from .models import Appointment, ServiceType, Visit, WorkItem, WorkItemPhoto

# Service field names -> check-in form field names.
CHECK_IN_FIELD_MAP = {
    "name": "customer_name",
    "phone": "customer_phone",
    "kind": "customer_kind",
}


BOARD_UNDO = "board_undo"  # the session's last one-tap step, for its undo bar


class BoardView(PermissionRequired, View):
    """Today's board; ``?part=body`` is its body alone, which the page fetches every 30 s
    (static/js/board.js) and swaps in when it changed."""

    permission_required = access.VIEW

    def get(self, request):
        board = selectors.board_for_day()
        context = {
            "board": board,
            "can_check_in": request.user.has_perm(access.CHECK_IN),
            "can_change": request.user.has_perm(access.CHANGE),
        }
        if request.GET.get("part") == "body":
            return render(request, "visits/_board_body.html", context)
        undo = request.session.get(BOARD_UNDO)
        if undo and timezone.now().timestamp() - undo["at"] > rules.UNDO_WINDOW.total_seconds():
            undo = None
        return render(request, "visits/board.html", {**context, "undo": undo})


class BoardUndoView(PermissionRequired, RefusalMixin, View):
    """Take back the one-tap step this session made last on the board."""

    permission_required = access.CHANGE

    def post(self, request):
        undo = request.session.pop(BOARD_UNDO, None)
        if undo:
            visit = access.visit_for(request.user, undo["visit"], permission=access.CHANGE)
            undone = self.attempt(
                services.visit_step_undo, visit=visit, from_status=undo["from"], by=request.user
            )
            if undone is not REFUSED:
                messages.success(
                    request,
                    _("已撤销：工单 %(ro)s 回到“%(status)s”。")
                    % {"ro": undone.ro_number, "status": undone.get_status_display()},
                )
        return redirect("visits:board")


class CheckInView(PermissionRequired, RefusalMixin, View):
    permission_required = access.CHECK_IN
    template_name = "visits/check_in.html"
    field_map = CHECK_IN_FIELD_MAP

    def _context(self, form, **extra):
        data = form.data if form.is_bound else form.initial
        user = self.request.user
        # Ids from the query string or hidden fields: junk is treated as absent, not a 500.
        vehicle = customer_access.find_vehicle(user, data.get("vehicle_id"))
        customer = customer_access.find_customer(user, data.get("customer_id"), live=True)
        appointment = access.find_appointment(user, data.get("appointment_id"))
        customer = customer or (vehicle.owner if vehicle else None)
        return {
            "form": form,
            "vehicle": vehicle,
            "customer": customer,
            "glance": customer_glance(customer=customer) if customer else None,
            "appointment": appointment,
            "last_visit": vehicle.visits.order_by("-checked_in_at").first() if vehicle else None,
            "open_visit": selectors.open_visit_of(vehicle=vehicle),
            "recommendations": workitems.open_recommendations(vehicle),
            "ticked_recommendations": {
                int(pk) for pk in data.getlist("recommendations") if str(pk).isdigit()
            }
            if hasattr(data, "getlist")
            else set(),
            **extra,
        }

    def get(self, request):
        initial = {"promised_at": rules.default_promised_at()}
        if appointment_id := id_or_none(request.GET.get("appointment")):
            appointment = access.appointment_for(request.user, appointment_id, booked=True)
            initial.update(
                appointment_id=appointment.pk,
                vehicle_id=appointment.vehicle_id,
                customer_id=appointment.customer_id,
                service_type=appointment.service_type,
                by_appointment="1",
                concern=appointment.notes,
            )
        elif vehicle_id := id_or_none(request.GET.get("vehicle")):
            vehicle = customer_access.vehicle_for(request.user, vehicle_id)
            initial.update(vehicle_id=vehicle.pk, customer_id=vehicle.owner_id)
        else:
            if customer_id := id_or_none(request.GET.get("customer")):
                customer = customer_access.customer_for(request.user, customer_id, live=True)
                initial["customer_id"] = customer.pk
            if plate := request.GET.get("plate"):
                initial["plate"] = clean_plate_text(plate)
            if vin := request.GET.get("vin"):
                initial["vin"] = vin
            if phone := request.GET.get("phone"):
                initial["customer_phone"] = phone
        return render(request, self.template_name, self._context(CheckInForm(initial=initial)))

    def post(self, request):
        data = request.POST.copy()
        # "Use this customer / vehicle" buttons on a duplicate warning resubmit the form.
        if use_customer := data.get("use_customer"):
            data["customer_id"] = use_customer
        if use_vehicle := data.get("use_vehicle"):
            data["vehicle_id"] = use_vehicle
        form = CheckInForm(data)
        if form.is_valid():
            visit = self.attempt(self._check_in, form=form, cleaned=form.cleaned_data)
            if visit is not REFUSED:
                messages.success(
                    request,
                    _("已接车，工单号 %(ro)s。") % {"ro": visit.ro_number},
                )
                return redirect("visits:detail", pk=visit.pk)
        duplicate = self.duplicate
        context = self._context(
            form,
            duplicate_customer=duplicate if isinstance(duplicate, Customer) else None,
            duplicate_vehicle=duplicate
            if duplicate and not isinstance(duplicate, Customer)
            else None,
        )
        return render(request, self.template_name, context, status=400)

    def _check_in(self, *, cleaned: dict):
        """The desk's check-in with the records the form names (one that vanished meanwhile
        is a refusal like any other)."""
        user = self.request.user
        customer = vehicle = None
        if cleaned.get("customer_id"):
            customer = customer_access.find_customer(user, cleaned["customer_id"])
            if customer is None:
                raise DomainError(_("所选客户不存在，请重新搜索。"))
        if cleaned.get("vehicle_id"):
            vehicle = customer_access.find_vehicle(user, cleaned["vehicle_id"])
            if vehicle is None:
                raise DomainError(_("所选车辆不存在，请重新搜索。"))
        return services.visit_check_in_at_desk(
            advisor=user,
            recommendation_ids=self.request.POST.getlist("recommendations"),
            customer=customer,
            vehicle=vehicle,
            new_customer={
                "name": cleaned["customer_name"],
                "phone": cleaned["customer_phone"],
                "kind": cleaned["customer_kind"] or Customer.Kind.INDIVIDUAL,
                "marketing_consent": cleaned["marketing_consent"],
                "consent_source": "check-in",
            },
            new_vehicle={
                "vin": cleaned["vin"],
                "plate": cleaned["plate"],
                "vin_check_override": cleaned["vin_check_override"],
                "brand": cleaned["brand"],
                "model": cleaned["model"],
                "model_year": cleaned["model_year"],
                "colour": cleaned["colour"],
                "registration_date": cleaned["registration_date"],
            },
            appointment=access.find_appointment(user, cleaned.get("appointment_id")),
            service_type=cleaned["service_type"],
            promised_at=cleaned["promised_at"],
            concern=cleaned["concern"],
            walkaround_notes=cleaned["walkaround_notes"],
            odometer_km=cleaned["odometer_km"],
            confirm_lower_odometer=cleaned["confirm_lower_odometer"],
            estimated_amount=cleaned["estimated_amount"],
            by_appointment=cleaned["by_appointment"],
        )


def _deliver_form(visit: Visit) -> DeliveryChecklistForm:
    """Delivery starts from the estimate (the total is prefilled with it and follows the
    labour and parts as they are typed: static/js/app.js, js-sum) and from the predicted
    next service (followups' rule, as if this visit were delivered today)."""
    due_on, due_km = followup_selectors.next_service_after(visit=visit)
    return DeliveryChecklistForm(
        initial={
            "total_amount": visit.estimated_amount,
            "next_service_advised_on": due_on,
            "next_service_advised_km": due_km,
        }
    )


def _render_visit_page(
    request,
    pk,
    *,
    deliver_form=None,
    cancel_form=None,
    promise_form=None,
    extra_work_form=None,
    status=200,
):
    visit = access.visit_for(request.user, pk)
    try:
        visit = selectors.visit_get(pk=visit.pk)
    except Visit.DoesNotExist as exc:  # deleted a moment ago
        raise Http404 from exc
    can_change = access.can_change_visit(request.user, visit)
    can_deliver = can_change and Visit.Status.DELIVERED in rules.allowed_transitions(visit.status)
    next_steps = [
        (step, Visit.Status(step).label)
        for step in rules.allowed_transitions(visit.status)
        if step not in (Visit.Status.DELIVERED, Visit.Status.CANCELLED)
    ]
    return render(
        request,
        "visits/visit_detail.html",
        {
            "visit": visit,
            "can_change": can_change,
            "next_steps": next_steps if can_change else [],
            "can_deliver": can_deliver,
            "can_cancel": can_change
            and Visit.Status.CANCELLED in rules.allowed_transitions(visit.status),
            "can_revise_promise": can_change and visit.status in Visit.IN_WORKSHOP,
            "deliver_form": deliver_form or (_deliver_form(visit) if can_deliver else None),
            "cancel_form": cancel_form or CancelForm(),
            "promise_form": promise_form
            or PromiseReviseForm(initial={"promised_at": visit.promised_at}),
            "promise_revisions": selectors.promise_revisions(visit=visit),
            "history": history_entries(visit, limit=30),
            "work_items": list(
                visit.work_items.prefetch_related("photos").select_related("answered_by")
            ),
            "current_estimate": workitems.current_estimate(visit),
            "visit_open": visit.status in Visit.IN_WORKSHOP,
            "extra_work_form": extra_work_form or ExtraWorkForm(),
        },
        status=status,
    )


class VisitDetailView(PermissionRequired, View):
    permission_required = access.VIEW

    def get(self, request, pk):
        return _render_visit_page(request, pk)


class _VisitAction(PermissionRequired, RefusalMixin, View):
    permission_required = access.CHANGE

    def visit(self, pk) -> Visit:
        return access.visit_for(self.request.user, pk, permission=access.CHANGE)

    def finish(self, request, pk, done, form, **page):
        """After the service: its message and back to the visit; or the page again with
        the form's field errors (a broken rule is a message on the visit's page)."""
        if done is not REFUSED:
            messages.success(request, done)
            return redirect("visits:detail", pk=pk)
        if not form.errors:
            return redirect("visits:detail", pk=pk)
        return _render_visit_page(request, pk, status=400, **page)


class VisitTransitionView(_VisitAction):
    """A step through the workshop, from the visit's page or one tap on the board (which
    goes back to the board with an undo bar)."""

    def post(self, request, pk):
        visit = self.visit(pk)
        from_status, on_board = visit.status, request.POST.get("from") == "board"
        to_status = request.POST.get("to_status", "")
        visit = self.attempt(
            services.visit_transition, visit=visit, to_status=to_status, by=request.user
        )
        if visit is not REFUSED:
            messages.success(
                request,
                _("工单 %(ro)s 已变更为“%(status)s”。")
                % {"ro": visit.ro_number, "status": visit.get_status_display()},
            )
            if on_board:
                request.session[BOARD_UNDO] = {
                    "visit": visit.pk,
                    "from": from_status,
                    "ro": visit.ro_number,
                    "at": timezone.now().timestamp(),
                }
        if on_board:
            return redirect("visits:board")
        return redirect("visits:detail", pk=pk)


class VisitDeliverView(_VisitAction):
    def post(self, request, pk):
        visit = self.visit(pk)
        form = DeliveryChecklistForm(request.POST)
        done = REFUSED
        if form.is_valid():
            visit = self.attempt(
                services.visit_deliver,
                form=form,
                rules_as_messages=True,
                visit=visit,
                by=request.user,
                **form.service_arguments(),
            )
            if visit is not REFUSED:
                done = _("已交车：%(ro)s。") % {"ro": visit.ro_number}
                if not visit.checklist_complete:
                    done += " " + _("交车检查未全部完成，本次计为不完整。")
        return self.finish(request, pk, done, form, deliver_form=form)


class VisitPromiseReviseView(_VisitAction):
    """A new promised time with its reason, from the visit's page."""

    def post(self, request, pk):
        visit = self.visit(pk)
        form = PromiseReviseForm(request.POST)
        done = REFUSED
        if form.is_valid():
            revision = self.attempt(
                services.visit_promise_revise,
                form=form,
                rules_as_messages=True,
                visit=visit,
                by=request.user,
                **form.cleaned_data,
            )
            if revision is not REFUSED:
                done = _("承诺交车时间已改为 %(time)s（%(reason)s）。") % {
                    "time": timezone.localtime(revision.to_promised_at).strftime("%m-%d %H:%M"),
                    "reason": revision.get_reason_display(),
                }
        return self.finish(request, pk, done, form, promise_form=form)


class VisitCancelView(_VisitAction):
    def post(self, request, pk):
        visit = self.visit(pk)
        form = CancelForm(request.POST)
        done = REFUSED
        if form.is_valid():
            cancelled = self.attempt(
                services.visit_cancel,
                form=form,
                rules_as_messages=True,
                visit=visit,
                reason=form.cleaned_data["cancel_reason"],
                by=request.user,
            )
            if cancelled is not REFUSED:
                done = _("工单已取消。")
        return self.finish(request, pk, done, form, cancel_form=form)


class VisitPrintView(PermissionRequired, View):
    permission_required = access.VIEW

    def get(self, request, pk):
        visit = access.visit_for(request.user, pk)
        try:
            visit = selectors.visit_get(pk=visit.pk)
        except Visit.DoesNotExist as exc:  # deleted a moment ago
            raise Http404 from exc
        return render(
            request,
            "visits/visit_print.html",
            {
                "visit": visit,
                "work_items": list(visit.work_items.filter(kind=WorkItem.Kind.EXTRA)),
                "current_estimate": workitems.current_estimate(visit),
                "promise_revisions": selectors.promise_revisions(visit=visit),
                "shop_address": settings.SHOP_ADDRESS,
                "shop_phone": settings.SHOP_PHONE,
            },
        )


class AppointmentCreateView(PermissionRequired, RefusalMixin, View):
    """Booking at the desk against the shop's capacity (bookings): the advisor picks a day
    and a service type, then one of that day's free slots; a slot taken meanwhile is refused
    with the next free ones."""

    permission_required = access.ADD_APPOINTMENT
    template_name = "visits/appointment_form.html"

    def get(self, request, vehicle_pk):
        vehicle = customer_access.vehicle_for(request.user, vehicle_pk)
        day_form = SlotDayForm(request.GET or None)
        day, service_type = _slot_day(day_form)
        form = AppointmentForm(
            initial={"advisor": request.user.pk, "service_type": service_type},
            slots=_day_slots(day, service_type),
        )
        return self._render(request, vehicle, form, day_form, day, service_type)

    def post(self, request, vehicle_pk):
        vehicle = customer_access.vehicle_for(request.user, vehicle_pk)
        service_type = request.POST.get("service_type") or ServiceType.MAINTENANCE
        day = _posted_day(request.POST.get("scheduled_at"))
        slots = _day_slots(day, service_type)
        form = AppointmentForm(request.POST, slots=slots)
        if form.is_valid():
            appointment = self.attempt(
                booking_services.appointment_book,
                form=form,
                customer=vehicle.owner,
                vehicle=vehicle,
                source=Appointment.Source.DESK,
                by=request.user,
                **form.cleaned_data,
            )
            if appointment is not REFUSED:
                messages.success(
                    request,
                    _("已预约：%(plate)s %(time)s。")
                    % {
                        "plate": vehicle,
                        "time": timezone.localtime(appointment.scheduled_at).strftime(
                            "%m-%d %H:%M"
                        ),
                    },
                )
                return redirect("customers:detail", pk=vehicle.owner_id)
        day_form = SlotDayForm(initial={"day": day, "service_type": service_type})
        return self._render(request, vehicle, form, day_form, day, service_type, status=400)

    def _render(self, request, vehicle, form, day_form, day, service_type, status=200):
        slots = form.fields["scheduled_at"].widget.choices[1:]
        later = [] if slots else _next_free(day, service_type)
        context = {
            "form": form,
            "day_form": day_form,
            "vehicle": vehicle,
            "day": day,
            "service_type": service_type,
            "no_slots": not slots,
            "next_free": [
                (slot, timezone.localtime(slot.starts_at).date().isoformat()) for slot in later
            ],
        }
        return render(request, self.template_name, context, status=status)


def _slot_day(day_form: SlotDayForm):
    """The day and service type asked for; by default maintenance on the first day with a
    free slot."""
    if day_form.is_bound and day_form.is_valid():
        day = day_form.cleaned_data["day"] or timezone.localdate()
        return day, day_form.cleaned_data["service_type"]
    service_type = ServiceType.MAINTENANCE
    first = booking_selectors.next_free_slots(
        service_type=service_type, after=timezone.now(), limit=1
    )
    day = timezone.localtime(first[0].starts_at).date() if first else timezone.localdate()
    return day, service_type


def _posted_day(value):
    try:
        return datetime.strptime(value or "", SLOT_FORMAT).date()
    except ValueError:
        return timezone.localdate()


def _day_slots(day, service_type):
    if service_type not in ServiceType.values:
        return []
    slots = booking_selectors.free_slots(service_type=service_type, start=day, days=1)
    return [slot for slot in slots if slot.free > 0]


def _next_free(day, service_type):
    if service_type not in ServiceType.values:
        return []
    after = max(timezone.now(), shop_rules.start_of(day))
    return booking_selectors.next_free_slots(service_type=service_type, after=after, limit=5)


class AppointmentCancelView(PermissionRequired, RefusalMixin, View):
    """Cancelling asks first: the appointment, a reason (and a note for "other")."""

    permission_required = access.CHANGE_APPOINTMENT

    def get(self, request, pk, form=None, status=200):
        appointment = access.appointment_for(request.user, pk, permission=access.CHANGE_APPOINTMENT)
        return render(
            request,
            "visits/appointment_cancel.html",
            {"appointment": appointment, "form": form or AppointmentCancelForm()},
            status=status,
        )

    def post(self, request, pk):
        appointment = access.appointment_for(request.user, pk, permission=access.CHANGE_APPOINTMENT)
        form = AppointmentCancelForm(request.POST)
        if form.is_valid():
            cancelled = self.attempt(
                services.appointment_cancel,
                form=form,
                rules_as_messages=True,
                appointment=appointment,
                by=request.user,
                reason=form.cleaned_data["reason"],
                note=form.cleaned_data["note"],
            )
            if cancelled is not REFUSED:
                messages.success(
                    request,
                    _("已取消 %(plate)s %(time)s 的预约（%(reason)s）。")
                    % {
                        "plate": cancelled.vehicle.plate or cancelled.vehicle.vin,
                        "time": timezone.localtime(cancelled.scheduled_at).strftime("%H:%M"),
                        "reason": cancelled.get_cancel_reason_display(),
                    },
                )
                return redirect("visits:board")
            if not form.errors:  # a broken rule (no longer booked): said on the board
                return redirect("visits:board")
        return self.get(request, pk, form=form, status=400)


# ---------------------------------------------------------------- the customer's status page


@never_cache
@csrf_protect
def status_page(request, token):
    """The repair's progress for the customer: no login, phone-first, light (no framework).
    A guessed or expired link gets the same friendly page as a survey link."""
    if public_page_too_busy(request, "status"):
        return _status_closed(request, "busy")
    state, visit = status.visit_for_token(token)
    if visit is None:
        return _status_closed(request, state)
    return _status_view(request, visit)


def _status_view(request, visit, *, problem: str = "", status_code: int = 200):
    page = status.status_page(visit=visit)
    return render(
        request,
        "visits/status_page.html",
        {
            "page": page,
            "visit": visit,
            "token": request.resolver_match.kwargs["token"],
            "problem": problem,
            "work_items": list(visit.work_items.prefetch_related("photos")),
            "current_estimate": workitems.current_estimate(visit),
            "visit_open": visit.status in Visit.IN_WORKSHOP,
            "promise_revisions": selectors.promise_revisions(visit=visit),
            "shop": settings.SHOP_NAME,
            "shop_phone": settings.SHOP_PHONE,
        },
        status=status_code,
    )


def _status_closed(request, state):
    code = {"expired": 410, "invalid": 404, "busy": 429}[state]
    return render(
        request,
        "visits/status_message.html",
        {"state": state, "shop": settings.SHOP_NAME, "shop_phone": settings.SHOP_PHONE},
        status=code,
    )


# ---------------------------------------------------------------- extra work (增项)


class ExtraWorkView(_VisitAction):
    """The advisor puts a found item to the customer, with photos from the tablet."""

    def post(self, request, pk):
        visit = self.visit(pk)
        form = ExtraWorkForm(request.POST)
        done = REFUSED
        if form.is_valid():
            item = self.attempt(
                workitems.extra_work_request,
                form=form,
                rules_as_messages=True,
                visit=visit,
                by=request.user,
                photos_in=request.FILES.getlist("photos"),
                description=form.cleaned_data["description"],
                labour_estimate=form.cleaned_data["labour_estimate"],
                parts_estimate=form.cleaned_data["parts_estimate"],
                urgency=form.cleaned_data["urgency"],
            )
            if item is not REFUSED:
                done = _("已发给客户确认：%(item)s。") % {"item": item.description}
        return self.finish(request, pk, done, form, extra_work_form=form)


class ExtraWorkPhoneAnswerView(_VisitAction):
    """The customer answered by phone: the advisor records it (who, when, "by phone")."""

    def post(self, request, pk, item_pk):
        visit = self.visit(pk)
        item = get_object_or_404(WorkItem, pk=item_pk, visit=visit)
        answered = self.attempt(
            workitems.extra_work_answer,
            item=item,
            decision=request.POST.get("decision", ""),
            channel=WorkItem.Channel.PHONE,
            by=request.user,
        )
        if answered is not REFUSED:
            messages.success(
                request,
                _("已记录客户电话答复：%(item)s — %(answer)s。")
                % {"item": answered.description, "answer": answered.get_status_display()},
            )
        return redirect("visits:detail", pk=pk)


class VisitPhotoView(PermissionRequired, View):
    permission_required = access.VIEW

    def get(self, request, pk, photo_pk):
        visit = access.visit_for(request.user, pk)
        photo = get_object_or_404(WorkItemPhoto, pk=photo_pk, item__visit=visit)
        return _photo_response(photo)


def _photo_response(photo):
    try:
        handle = photo.image.open("rb")
    except (FileNotFoundError, OSError) as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@never_cache
def status_photo(request, token, photo_pk):
    """A work item's photo for the holder of the visit's status link."""
    if public_page_too_busy(request, "status"):
        return _status_closed(request, "busy")
    state, visit = status.visit_for_token(token)
    if visit is None:
        return _status_closed(request, state)
    photo = get_object_or_404(WorkItemPhoto, pk=photo_pk, item__visit=visit)
    return _photo_response(photo)


@csrf_protect
def status_answer(request, token, item_pk):
    """The customer approves, declines or defers one item on the status page."""
    if request.method != "POST":
        return redirect("visits:status", token=token)
    if public_page_too_busy(request, "status"):
        return _status_closed(request, "busy")
    state, visit = status.visit_for_token(token)
    if visit is None:
        return _status_closed(request, state)
    item = get_object_or_404(WorkItem, pk=item_pk, visit=visit)
    try:
        workitems.extra_work_answer(
            item=item,
            decision=request.POST.get("decision", ""),
            channel=WorkItem.Channel.STATUS_PAGE,
        )
    except (DomainError, ValidationError) as error:
        return _status_view(request, visit, problem=message_of(error), status_code=400)
    return redirect(f"{reverse('visits:status', args=[token])}#work-item-{item.pk}")
