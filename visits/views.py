from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from customers.forms import apply_service_errors
from customers.models import Customer, Vehicle
from customers.validators import clean_plate_text
from shopcrm.access import PermissionRequired
from shopcrm.errors import DomainError, DuplicateFound

from . import access, rules, selectors, services
from .forms import AppointmentForm, CancelForm, CheckInForm, DeliverForm
from .models import Appointment, Visit


def _int_or_none(value):
    """An id from a query string or a hidden field; junk is treated as absent, not a 500."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


# Service field names -> check-in form field names.
CHECK_IN_FIELD_MAP = {
    "name": "customer_name",
    "phone": "customer_phone",
    "kind": "customer_kind",
}


class BoardView(PermissionRequired, View):
    permission_required = access.VIEW

    def get(self, request):
        board = selectors.board_for_day()
        return render(
            request,
            "visits/board.html",
            {"board": board, "can_check_in": request.user.has_perm(access.CHECK_IN)},
        )


class CheckInView(PermissionRequired, View):
    permission_required = access.CHECK_IN
    template_name = "visits/check_in.html"

    def _context(self, form, **extra):
        data = form.data if form.is_bound else form.initial
        vehicle = customer = appointment = None
        if vehicle_id := _int_or_none(data.get("vehicle_id")):
            vehicle = Vehicle.objects.select_related("owner").filter(pk=vehicle_id).first()
        if customer_id := _int_or_none(data.get("customer_id")):
            customer = Customer.objects.filter(pk=customer_id, merged_into__isnull=True).first()
        if appointment_id := _int_or_none(data.get("appointment_id")):
            appointment = Appointment.objects.filter(pk=appointment_id).first()
        return {
            "form": form,
            "vehicle": vehicle,
            "customer": customer or (vehicle.owner if vehicle else None),
            "appointment": appointment,
            "last_visit": vehicle.visits.order_by("-checked_in_at").first() if vehicle else None,
            **extra,
        }

    def get(self, request):
        initial = {"promised_at": rules.default_promised_at()}
        if appointment_id := _int_or_none(request.GET.get("appointment")):
            appointment = get_object_or_404(
                Appointment, pk=appointment_id, status=Appointment.Status.BOOKED
            )
            initial.update(
                appointment_id=appointment.pk,
                vehicle_id=appointment.vehicle_id,
                customer_id=appointment.customer_id,
                service_type=appointment.service_type,
                by_appointment="1",
                concern=appointment.notes,
            )
        elif vehicle_id := _int_or_none(request.GET.get("vehicle")):
            vehicle = get_object_or_404(Vehicle, pk=vehicle_id)
            initial.update(vehicle_id=vehicle.pk, customer_id=vehicle.owner_id)
        else:
            if customer_id := _int_or_none(request.GET.get("customer")):
                customer = get_object_or_404(Customer, pk=customer_id, merged_into__isnull=True)
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
        duplicate_customer = duplicate_vehicle = None
        if form.is_valid():
            cleaned = form.cleaned_data
            try:
                visit = services.visit_check_in_at_desk(
                    advisor=request.user,
                    customer=self._get_customer(cleaned.get("customer_id")),
                    vehicle=self._get_vehicle(cleaned.get("vehicle_id")),
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
                    appointment=self._get_appointment(cleaned.get("appointment_id")),
                    service_type=cleaned["service_type"],
                    promised_at=cleaned["promised_at"],
                    concern=cleaned["concern"],
                    walkaround_notes=cleaned["walkaround_notes"],
                    odometer_km=cleaned["odometer_km"],
                    confirm_lower_odometer=cleaned["confirm_lower_odometer"],
                    estimated_amount=cleaned["estimated_amount"],
                    by_appointment=cleaned["by_appointment"],
                )
            except DuplicateFound as exc:
                if isinstance(exc.existing, Customer):
                    duplicate_customer = exc.existing
                else:
                    duplicate_vehicle = exc.existing
                form.add_error(CHECK_IN_FIELD_MAP.get(exc.field, exc.field), exc.message)
            except ValidationError as exc:
                apply_service_errors(form, exc, CHECK_IN_FIELD_MAP)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("已接车，工单号 %(ro)s。") % {"ro": visit.ro_number},
                )
                return redirect("visits:detail", pk=visit.pk)
        context = self._context(
            form,
            duplicate_customer=duplicate_customer,
            duplicate_vehicle=duplicate_vehicle,
        )
        return render(request, self.template_name, context, status=400)

    @staticmethod
    def _get_customer(pk):
        if not pk:
            return None
        customer = Customer.objects.filter(pk=pk).first()
        if customer is None:
            raise DomainError(_("所选客户不存在，请重新搜索。"))
        return customer

    @staticmethod
    def _get_vehicle(pk):
        if not pk:
            return None
        vehicle = Vehicle.objects.select_related("owner").filter(pk=pk).first()
        if vehicle is None:
            raise DomainError(_("所选车辆不存在，请重新搜索。"))
        return vehicle

    @staticmethod
    def _get_appointment(pk):
        return Appointment.objects.filter(pk=pk).first() if pk else None


def _render_visit_page(request, pk, *, deliver_form=None, cancel_form=None, status=200):
    try:
        visit = selectors.visit_get(pk=pk)
    except Visit.DoesNotExist as exc:
        raise Http404 from exc
    can_change = access.can_change_visit(request.user, visit)
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
            "can_deliver": can_change
            and Visit.Status.DELIVERED in rules.allowed_transitions(visit.status),
            "can_cancel": can_change
            and Visit.Status.CANCELLED in rules.allowed_transitions(visit.status),
            "deliver_form": deliver_form or DeliverForm(),
            "cancel_form": cancel_form or CancelForm(),
            "history": visit.history.select_related("history_user").order_by("-history_date")[:30],
        },
        status=status,
    )


class VisitDetailView(PermissionRequired, View):
    permission_required = access.VIEW

    def get(self, request, pk):
        return _render_visit_page(request, pk)


class _VisitAction(PermissionRequired, View):
    permission_required = access.CHANGE

    def visit(self, pk) -> Visit:
        visit = get_object_or_404(Visit, pk=pk)
        if not access.can_change_visit(self.request.user, visit):
            raise PermissionDenied
        return visit


class VisitTransitionView(_VisitAction):
    def post(self, request, pk):
        visit = self.visit(pk)
        to_status = request.POST.get("to_status", "")
        try:
            visit = services.visit_transition(visit=visit, to_status=to_status, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("工单 %(ro)s 已变更为“%(status)s”。")
                % {"ro": visit.ro_number, "status": visit.get_status_display()},
            )
        return redirect("visits:detail", pk=pk)


class VisitDeliverView(_VisitAction):
    def post(self, request, pk):
        visit = self.visit(pk)
        form = DeliverForm(request.POST)
        if form.is_valid():
            try:
                visit = services.visit_deliver(visit=visit, by=request.user, **form.cleaned_data)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect("visits:detail", pk=pk)
            else:
                messages.success(request, _("已交车：%(ro)s。") % {"ro": visit.ro_number})
                return redirect("visits:detail", pk=pk)
        return _render_visit_page(request, pk, deliver_form=form, status=400)


class VisitCancelView(_VisitAction):
    def post(self, request, pk):
        visit = self.visit(pk)
        form = CancelForm(request.POST)
        if form.is_valid():
            try:
                services.visit_cancel(
                    visit=visit,
                    reason=form.cleaned_data["cancel_reason"],
                    by=request.user,
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except DomainError as exc:
                messages.error(request, exc.message)
                return redirect("visits:detail", pk=pk)
            else:
                messages.success(request, _("工单已取消。"))
                return redirect("visits:detail", pk=pk)
        return _render_visit_page(request, pk, cancel_form=form, status=400)


class VisitPrintView(PermissionRequired, View):
    permission_required = access.VIEW

    def get(self, request, pk):
        try:
            visit = selectors.visit_get(pk=pk)
        except Visit.DoesNotExist as exc:
            raise Http404 from exc
        return render(request, "visits/visit_print.html", {"visit": visit})


class AppointmentCreateView(PermissionRequired, View):
    permission_required = "visits.add_appointment"
    template_name = "visits/appointment_form.html"

    def get(self, request, vehicle_pk):
        vehicle = get_object_or_404(Vehicle.objects.select_related("owner"), pk=vehicle_pk)
        form = AppointmentForm(initial={"advisor": request.user.pk})
        return render(request, self.template_name, {"form": form, "vehicle": vehicle})

    def post(self, request, vehicle_pk):
        vehicle = get_object_or_404(Vehicle.objects.select_related("owner"), pk=vehicle_pk)
        form = AppointmentForm(request.POST)
        if form.is_valid():
            try:
                appointment = services.appointment_create(
                    customer=vehicle.owner, vehicle=vehicle, by=request.user, **form.cleaned_data
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
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
        return render(request, self.template_name, {"form": form, "vehicle": vehicle}, status=400)


class AppointmentCancelView(PermissionRequired, View):
    permission_required = "visits.change_appointment"

    def post(self, request, pk):
        appointment = get_object_or_404(Appointment, pk=pk)
        try:
            services.appointment_cancel(appointment=appointment, by=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("预约已取消。"))
        return redirect("visits:board")
