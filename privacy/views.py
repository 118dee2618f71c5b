from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from shopcrm.access import PermissionRequired
from shopcrm.exports import json_response, workbook_response
from shopcrm.refusals import REFUSED, RefusalMixin

from . import access, selectors, services
from .forms import EraseForm
from .models import AccessExportRecord


class CustomerEraseView(PermissionRequired, RefusalMixin, View):
    """Managers and administrators: confirm by typing the name, then erase."""

    permission_required = access.ERASE
    template_name = "privacy/customer_erase.html"

    def get(self, request, pk):
        customer = access.customer_to_erase(request.user, pk)
        form = EraseForm(customer=customer)
        return render(request, self.template_name, {"customer": customer, "form": form})

    def post(self, request, pk):
        customer = access.customer_to_erase(request.user, pk)
        form = EraseForm(request.POST, customer=customer)
        if form.is_valid():
            record = self.attempt(
                services.customer_erase, form=form, customer=customer, by=request.user
            )
            if record is not REFUSED:
                # The message names the record by its id: the name is gone.
                messages.success(
                    request, _("客户 #%(pk)s 的个人信息已删除。") % {"pk": customer.pk}
                )
                return redirect("customers:detail", pk=customer.pk)
        context = {"customer": customer, "form": form}
        return render(request, self.template_name, context, status=400)


class CustomerDataExportView(PermissionRequired, View):
    """POST (it is recorded): everything held about the customer, as JSON or XLSX."""

    permission_required = access.EXPORT

    def post(self, request, pk, fmt):
        if fmt not in AccessExportRecord.Format.values:
            raise Http404
        customer = access.customer_to_export(request.user, pk)
        services.customer_data_export_record(customer=customer, by=request.user, fmt=fmt)
        sections = selectors.customer_data(customer)
        name = f"customer-{customer.pk}-personal-data"
        if fmt == AccessExportRecord.Format.XLSX:
            return workbook_response(
                name=name,
                sheets=[(section.title, section.header, section.table()) for section in sections],
            )
        return json_response(
            name=name,
            data={
                "customer_id": customer.pk,
                "sections": {section.key: section.rows for section in sections},
            },
        )
