import hmac
import logging

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from shopcrm.access import PermissionRequired
from shopcrm.cache import public_page_too_busy
from shopcrm.refusals import RefusalMixin

from . import access, binding, replies, selectors, services, wechat
from .backends import SendError
from .models import SmsReply

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


@method_decorator(csrf_exempt, name="dispatch")
class SmsReplyCallbackView(View):
    """The SMS provider pushes customers' replies here (public, POST only). Neither provider
    signs these pushes, so the shared secret in the URL (settings.SMS_REPLY_TOKENS, compared
    in constant time) is the proof: a wrong or missing one gets 403 and writes nothing. The
    answer is the success body the provider documents; a malformed push gets 400."""

    provider = ""
    parse = None
    success: dict = {}

    def post(self, request, token):
        expected = settings.SMS_REPLY_TOKENS.get(self.provider) or ""
        if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
            logger.warning("SMS reply push with a wrong token (%s)", self.provider)
            return JsonResponse({"error": _("回调令牌无效。")}, status=403)
        try:
            inbound = self.parse(request.body)
        except replies.BadPush as exc:
            return JsonResponse(
                {"error": str(exc)}, status=400, json_dumps_params={"ensure_ascii": False}
            )
        replies.replies_receive(replies=inbound)
        return JsonResponse(self.success, json_dumps_params={"ensure_ascii": False})


class AliyunReplyView(SmsReplyCallbackView):
    provider = SmsReply.Provider.ALIYUN
    parse = staticmethod(replies.parse_aliyun)
    success = {"code": 0, "msg": "成功"}


class TencentReplyView(SmsReplyCallbackView):
    provider = SmsReply.Provider.TENCENT
    parse = staticmethod(replies.parse_tencent)
    success = {"result": 0, "errmsg": "OK"}


class RepliesView(PermissionRequired, View):
    """Customers' SMS replies for a person to read: texts that are not a command and
    replies from numbers no customer has (``?all=1``: every reply, newest first)."""

    permission_required = access.HANDLE_REPLY

    def get(self, request):
        show_all = request.GET.get("all") == "1"
        replies_ = selectors.replies_recent() if show_all else selectors.replies_to_read()
        page = Paginator(replies_, 50).get_page(request.GET.get("page"))
        return render(
            request,
            "messaging/replies.html",
            {"page": page, "show_all": show_all, "query": "all=1" if show_all else ""},
        )


class ReplyHandleView(PermissionRequired, RefusalMixin, View):
    permission_required = access.HANDLE_REPLY

    def post(self, request, pk):
        reply = access.reply_for(request.user, pk)
        if self.attempt(replies.reply_mark_handled, reply=reply, by=request.user):
            messages.success(request, _("已标记为已处理。"))
        return redirect("messaging:replies")


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
