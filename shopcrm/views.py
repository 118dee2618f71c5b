from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from django.views.defaults import server_error as django_server_error

from customers import access as customer_access
from visits import access as visit_access


@login_required
def home(request):
    """Each role lands where its day starts: the desk on the board, others on search."""
    if request.user.has_perm(visit_access.CHECK_IN):
        return redirect("visits:board")
    if request.user.has_perm("followups.work_queue"):
        return redirect("followups:queue")
    if request.user.has_perm(customer_access.VIEW):
        return redirect("customers:search")
    return render(request, "home.html")


def not_found(request, exception=None):
    """JSON under /api/, the site's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(_("未找到。"))}, status=404)
    return page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": str(_("服务器出错，请稍后重试。"))}, status=500)
    return django_server_error(request)
