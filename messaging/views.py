import logging

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache

from shopcrm.access import PermissionRequired
from shopcrm.cache import public_page_too_busy
from shopcrm.refusals import RefusalMixin

from . import access, binding, selectors, services, wechat
from .backends import SendError

logger = logging.getLogger("shopcrm.messaging")


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


def _bind_page(request, state: str, *, back: str = "", status: int = 200):
    return render(
        request,
        "messaging/wechat_bind_result.html",
        {"state": state, "back": back, "shop": settings.SHOP_NAME},
        status=status,
    )


@never_cache
def wechat_bind(request):
    """The offer's link: on to WeChat's silent authorization (public, no login)."""
    if public_page_too_busy(request, "wechat"):
        return _bind_page(request, "busy", status=429)
    if not wechat.configured():
        return _bind_page(request, "unavailable", status=404)
    try:
        offer = binding.read_offer(request.GET.get("offer", ""))
    except binding.BindingRefused:
        return _bind_page(request, "invalid", status=400)
    url, nonce = binding.start(offer)
    response = redirect(url)
    response.set_cookie(
        binding.STATE_COOKIE,
        nonce,
        max_age=binding.STATE_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response


@never_cache
def wechat_callback(request):
    """WeChat sends the visitor back here with ``code`` and our ``state``."""
    if public_page_too_busy(request, "wechat"):
        return _bind_page(request, "busy", status=429)
    if not wechat.configured():
        return _bind_page(request, "unavailable", status=404)
    try:
        offer = binding.finish(
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            cookie=request.COOKIES.get(binding.STATE_COOKIE, ""),
        )
    except binding.BindingRefused as exc:
        logger.warning("WeChat binding refused: %s", exc)
        response = _bind_page(request, "invalid", status=400)
    except SendError as exc:
        logger.warning("WeChat binding failed: %s", exc)
        response = _bind_page(request, "failed", status=502)
    else:
        response = _bind_page(request, "bound", back=offer["b"])
    response.delete_cookie(binding.STATE_COOKIE)
    return response
