from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from shopcrm.access import PermissionRequired
from shopcrm.refusals import RefusalMixin

from . import access, selectors, services


class UndeliveredView(PermissionRequired, View):
    """The messages that gave up after every try, with a "send again" button each."""

    permission_required = access.RETRY

    def get(self, request):
        page = Paginator(selectors.undelivered_messages(), 50).get_page(request.GET.get("page"))
        for message in page:
            message.purpose_label = message.get_purpose_display()
        return render(request, "messaging/undelivered.html", {"page": page})


class RetryView(PermissionRequired, RefusalMixin, View):
    permission_required = access.RETRY

    def post(self, request, pk):
        message = access.message_for(request.user, pk)
        if self.attempt(services.message_retry, message=message, by=request.user):
            messages.success(request, _("已重新发送（发送结果稍后在此更新）。"))
        return redirect("messaging:undelivered")
