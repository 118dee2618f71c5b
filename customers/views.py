from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View

from followups import selectors as followup_selectors
from messaging import selectors as messaging_selectors
from shopcrm.access import PermissionRequired
from shopcrm.people import person_name
from shopcrm.refusals import REFUSED, RefusalMixin
from visits import access as visit_access
from visits import selectors as visit_selectors
from visits import workitems as visit_workitems
from workflows.glance import customer_glance

from . import access, reassignment, selectors, services
from .forms import CustomerEditForm, CustomerForm, MergeForm, ReassignCustomersForm, VehicleForm
from .history import history_entries
from .models import Customer
from .validators import display_phone

CUSTOMER_FIELD_MAP = {"name": "customer_name", "phone": "customer_phone", "kind": "customer_kind"}


class SearchView(PermissionRequired, View):
    permission_required = access.VIEW

    def get(self, request):
        query = request.GET.get("q", "")
        results = visit_selectors.desk_search(query=query)
        return render(
            request,
            "customers/search.html",
            {
                "results": results,
                "query": query,
                "can_check_in": request.user.has_perm(visit_access.CHECK_IN),
            },
        )


class CustomerCreateView(PermissionRequired, RefusalMixin, View):
    permission_required = access.CREATE
    template_name = "customers/customer_form.html"
    field_map = CUSTOMER_FIELD_MAP

    def get(self, request):
        initial = {"customer_phone": request.GET.get("phone", "")}
        return render(request, self.template_name, {"form": CustomerForm(initial=initial)})

    def post(self, request):
        form = CustomerForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            customer = self.attempt(
                services.customer_create,
                form=form,
                by=request.user,
                name=data["customer_name"],
                phone=data["customer_phone"],
                kind=data["customer_kind"] or Customer.Kind.INDIVIDUAL,
                email=data["email"],
                preferred_channel=data["preferred_channel"],
                contact_window=data["contact_window"],
                marketing_consent=data["marketing_consent"],
                consent_source="desk",
                do_not_contact=data["do_not_contact"],
                service_messages=data["service_messages"],
                preferred_language=data["preferred_language"] or Customer.Language.ZH_HANS,
            )
            if customer is not REFUSED:
                messages.success(request, _("已创建客户 %(name)s。") % {"name": customer.name})
                return redirect("customers:detail", pk=customer.pk)
        return render(
            request,
            self.template_name,
            {"form": form, "duplicate_customer": self.duplicate},
            status=400,
        )


class CustomerDetailView(PermissionRequired, View):
    permission_required = access.VIEW

    def get(self, request, pk):
        customer = access.customer_for(request.user, pk)
        try:
            customer = selectors.customer_get(pk=customer.pk)
        except Customer.DoesNotExist as exc:  # deleted a moment ago
            raise Http404 from exc
        if customer.is_merged:
            messages.info(
                request, _("该客户已合并到 %(name)s。") % {"name": customer.merged_into.name}
            )
            return redirect("customers:detail", pk=customer.merged_into_id)
        vehicles = list(customer.vehicles.all())
        next_services = followup_selectors.next_services(vehicles=vehicles)
        recommendations = visit_workitems.open_recommendations_by_vehicle(
            [vehicle.pk for vehicle in vehicles]
        )
        for vehicle in vehicles:
            vehicle.next_service = next_services.get(vehicle.pk)
            vehicle.open_recommendations = recommendations.get(vehicle.pk, [])
        can_edit = request.user.has_perm(access.CHANGE) and not customer.is_erased
        return render(
            request,
            "customers/customer_detail.html",
            {
                "customer": customer,
                "glance": customer_glance(customer=customer),
                "advisor_choices": selectors.advisor_choices() if can_edit else None,
                "visits": visit_selectors.visits_of_customer(customer=customer),
                "vehicles": vehicles,
                "today": timezone.localdate(),
                "can_reveal": access.can_reveal_phone(request.user, customer),
                "can_merge": access.can_merge(request.user),
                "can_edit": request.user.has_perm(access.CHANGE),
                "can_change_advisor": can_edit,
                "history": history_entries(customer, limit=10),
                "sms_replies": messaging_selectors.replies_of_customer(customer=customer),
                "can_add_vehicle": request.user.has_perm(access.ADD_VEHICLE),
                "can_check_in": request.user.has_perm(visit_access.CHECK_IN),
            },
        )


class CustomerEditView(PermissionRequired, RefusalMixin, View):
    permission_required = access.CHANGE
    template_name = "customers/customer_edit.html"
    field_map = CUSTOMER_FIELD_MAP

    def get(self, request, pk):
        customer = access.customer_for(request.user, pk, permission=access.CHANGE, live=True)
        form = CustomerEditForm(
            initial=CustomerEditForm.initial_for(customer), masked_phone=customer.masked_phone
        )
        return render(request, self.template_name, {"form": form, "customer": customer})

    def post(self, request, pk):
        customer = access.customer_for(request.user, pk, permission=access.CHANGE, live=True)
        form = CustomerEditForm(request.POST, masked_phone=customer.masked_phone)
        if form.is_valid():
            data = form.cleaned_data
            changes = {
                "name": data["customer_name"],
                "kind": data["customer_kind"] or customer.kind,
                "email": data["email"],
                "preferred_channel": data["preferred_channel"],
                "contact_window": data["contact_window"],
                "marketing_consent": data["marketing_consent"],
                "consent_source": "desk",
                "do_not_contact": data["do_not_contact"],
                "service_messages": data["service_messages"],
                "preferred_language": data["preferred_language"] or customer.preferred_language,
            }
            if data["customer_phone"]:
                changes["phone"] = data["customer_phone"]
            updated = self.attempt(
                services.customer_update, form=form, customer=customer, by=request.user, **changes
            )
            if updated is not REFUSED:
                messages.success(request, _("客户资料已保存。"))
                return redirect("customers:detail", pk=customer.pk)
        context = {"form": form, "customer": customer, "duplicate_customer": self.duplicate}
        return render(request, self.template_name, context, status=400)


class CustomerAdvisorView(PermissionRequired, RefusalMixin, View):
    """POST only, from the customer page: another own advisor for the customer. A refused
    choice (not an active advisor) is said in the page's messages; nothing changes."""

    permission_required = access.CHANGE

    def post(self, request, pk):
        customer = access.customer_for(request.user, pk, permission=access.CHANGE, live=True)
        changed = self.attempt(
            services.customer_advisor_change,
            customer=customer,
            advisor_id=request.POST.get("advisor"),
            by=request.user,
        )
        if changed is not REFUSED:
            messages.success(
                request, _("专属顾问已改为 %(name)s。") % {"name": person_name(changed.advisor)}
            )
        return redirect("customers:detail", pk=customer.pk)


class RevealPhoneView(PermissionRequired, View):
    """POST only: shows the full number once and records who saw it, and where: the page is
    the route's (the customer page, the admin), never a value the browser sends. The call
    page reveals through its own route (followups), which records the call."""

    permission_required = access.VIEW
    where = "customer page"

    def post(self, request, pk):
        customer = access.customer_for(request.user, pk)
        if not access.can_reveal_phone(request.user, customer):
            raise PermissionDenied
        if self.where == "admin" and not request.user.is_staff:
            raise PermissionDenied
        return reveal_phone_answer(customer=customer, user=request.user, context=self.where)


def reveal_phone_answer(*, customer, user, context: str) -> JsonResponse:
    phone = services.customer_reveal_phone(customer=customer, user=user, context=context)
    return JsonResponse({"phone": display_phone(phone), "e164": phone})


class VehicleCreateView(PermissionRequired, RefusalMixin, View):
    permission_required = access.ADD_VEHICLE
    template_name = "customers/vehicle_form.html"

    def get(self, request, pk):
        customer = access.customer_for(request.user, pk, live=True)
        form = VehicleForm(initial={"plate": request.GET.get("plate", "")})
        return render(request, self.template_name, {"form": form, "customer": customer})

    def post(self, request, pk):
        customer = access.customer_for(request.user, pk, live=True)
        form = VehicleForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            vehicle = self.attempt(
                services.vehicle_create,
                form=form,
                owner=customer,
                by=request.user,
                vin=data["vin"],
                plate=data["plate"],
                vin_check_override=data["vin_check_override"],
                brand=data["brand"],
                model=data["model"],
                model_year=data["model_year"],
                colour=data["colour"],
                registration_date=data["registration_date"],
            )
            if vehicle is not REFUSED:
                messages.success(request, _("车辆已登记。"))
                return redirect("customers:detail", pk=customer.pk)
        return render(
            request,
            self.template_name,
            {"form": form, "customer": customer, "duplicate_vehicle": self.duplicate},
            status=400,
        )


class CustomerMergeView(PermissionRequired, RefusalMixin, View):
    permission_required = access.MERGE
    template_name = "customers/customer_merge.html"

    def get(self, request, pk):
        source = access.customer_for(request.user, pk, permission=access.MERGE, live=True)
        return render(request, self.template_name, {"source": source, "form": MergeForm()})

    def post(self, request, pk):
        source = access.customer_for(request.user, pk, permission=access.MERGE, live=True)
        form = MergeForm(request.POST)
        if form.is_valid():
            target = access.find_customer(request.user, form.cleaned_data["target_id"])
            if target is None:
                form.add_error("target_id", _("没有这个客户编号。"))
            else:
                result = self.attempt(
                    services.customer_merge,
                    form=form,
                    source=source,
                    target=target,
                    by=request.user,
                )
                if result is not REFUSED:
                    messages.success(
                        request,
                        _("已将 %(source)s 合并到 %(target)s。")
                        % {"source": source.name, "target": target.name},
                    )
                    return redirect(reverse("customers:detail", kwargs={"pk": result.target.pk}))
        return render(request, self.template_name, {"source": source, "form": form}, status=400)


class VehicleCompleteView(PermissionRequired, RefusalMixin, View):
    """The advisor enters the real VIN of a car the booking page registered by its plate
    (from the check-in page); a refusal (a bad VIN, a car already registered with it) is
    said in the messages there."""

    permission_required = access.CHANGE_VEHICLE

    def post(self, request, pk):
        vehicle = access.vehicle_for(request.user, pk, permission=access.CHANGE_VEHICLE)
        completed = self.attempt(
            services.vehicle_complete,
            vehicle=vehicle,
            vin=request.POST.get("vin", ""),
            vin_check_override=request.POST.get("vin_check_override") == "on",
            by=request.user,
        )
        if completed is not REFUSED:
            messages.success(request, _("车辆资料已补全：%(vin)s。") % {"vin": completed.vin})
        back = request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            return redirect(back)
        return redirect("customers:detail", pk=vehicle.owner_id)


class AdvisorCustomersView(PermissionRequired, RefusalMixin, View):
    """The advisors with their customers' counts; a manager moves a leaving advisor's
    customers to others: the form, then a confirmation of how many move to whom, then the
    move (customers.reassignment)."""

    permission_required = reassignment.REASSIGN
    template_name = "customers/advisors.html"
    field_map = {"spread": "spread"}

    def get(self, request):
        initial = {}
        if request.GET.get("source"):
            initial["source"] = request.GET["source"]
        return self._page(request, ReassignCustomersForm(initial=initial))

    def post(self, request):
        form = ReassignCustomersForm(request.POST)
        if not form.is_valid():
            return self._page(request, form, status=400)
        data = form.cleaned_data
        arguments = {
            "source": data["source"],
            "targets": list(data["targets"]),
            "by": request.user,
            "how": data["spread"],
            "filters": form.filters(timezone.localdate()),
            "reason": data["reason"],
        }
        if request.POST.get("confirm") != "1":
            plan = self.attempt(reassignment.customers_reassign_preview, form=form, **arguments)
            if plan is REFUSED:
                return self._page(request, form, status=400)
            return self._page(request, form, plan=plan)
        plan = self.attempt(reassignment.customers_reassign, form=form, **arguments)
        if plan is REFUSED:
            return self._page(request, form, status=400)
        messages.success(
            request,
            _("已将 %(source)s 的 %(n)s 位客户改派：%(shares)s。")
            % {
                "source": person_name(plan.source),
                "n": plan.total,
                "shares": plan.summary(),
            },
        )
        return redirect("customers:advisors")

    def _page(self, request, form, *, plan=None, status=200):
        return render(
            request,
            self.template_name,
            {"form": form, "advisors": reassignment.advisor_loads(), "plan": plan},
            status=status,
        )
