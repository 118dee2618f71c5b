"""Binding a customer's WeChat from one of their public pages (issue 18).

A page the customer reached by their own link (the repair's status, the survey, the booking)
opened inside WeChat offers "绑定微信" (templatetags ``wechat_bind_offer``). The offer links
to the start view with a signed *offer* (customer, page, the way back); the start view makes
an OAuth ``state`` — random, signed, kept in the cache for STATE_SECONDS with what it is for,
used once, and tied to the browser by a cookie — and sends the visitor to WeChat's silent
authorization (snsapi_base). WeChat sends them back to the callback with a code, exchanged
for their OpenID, which is stored on the customer with the time and the page.
"""

import hmac
import secrets

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.urls import reverse
from django.utils.crypto import salted_hmac

from customers.models import WeChatSource
from customers.services import customer_bind_wechat

from . import wechat

OFFER_SALT = "messaging.wechat.offer"
OFFER_MAX_AGE = 24 * 3600  # the page may stay open a while; the state is the short one
STATE_SECONDS = 600
STATE_COOKIE = "wechat_bind"
_STATE_KEY = "wechat:oauth-state:{}"


class BindingRefused(Exception):
    """A forged, expired or replayed offer or state."""


def offered(request, customer) -> bool:
    """Whether the page offers the binding: WeChat configured, the page opened inside
    WeChat's browser, and the customer not bound yet."""
    agent = request.META.get("HTTP_USER_AGENT", "")
    return bool(
        wechat.configured()
        and customer is not None
        and "MicroMessenger" in agent
        and not customer.wechat_openid
    )


def offer_url(*, customer_id: int, source: str, back: str) -> str:
    """The start view's address for this customer, page and way back (a path)."""
    offer = signing.dumps({"c": customer_id, "s": source, "b": back}, salt=OFFER_SALT)
    return f"{reverse('messaging:wechat_bind')}?offer={offer}"


def read_offer(offer: str) -> dict:
    try:
        data = signing.loads(offer, salt=OFFER_SALT, max_age=OFFER_MAX_AGE)
    except signing.BadSignature as exc:
        raise BindingRefused("bad offer") from exc
    if data.get("s") not in WeChatSource.values or not str(data.get("b", "")).startswith("/"):
        raise BindingRefused("bad offer")
    return data


def _signature(nonce: str) -> str:
    return salted_hmac("messaging.wechat.state", nonce).hexdigest()[:24]


def start(offer: dict) -> tuple[str, str]:
    """(WeChat's authorization URL, the state's nonce for the browser's cookie)."""
    nonce = secrets.token_hex(16)
    cache.set(_STATE_KEY.format(nonce), offer, timeout=STATE_SECONDS)
    redirect_uri = settings.SHOPCRM_PUBLIC_URL.rstrip("/") + reverse("messaging:wechat_callback")
    # WeChat allows [a-zA-Z0-9] and 128 bytes in state: hex nonce + hex signature.
    return wechat.authorize_url(redirect_uri=redirect_uri, state=nonce + _signature(nonce)), nonce


def finish(*, state: str, code: str, cookie: str) -> dict:
    """Check the state (signed, this browser's, not expired, not used), exchange the code
    and store the OpenID. Returns the offer; raises BindingRefused or SendError."""
    nonce, signature = state[:32], state[32:]
    well_formed = len(state) == 56 and state.isascii() and state.isalnum()
    if not well_formed or not hmac.compare_digest(signature, _signature(nonce)):
        raise BindingRefused("forged state")
    if not cookie.isascii() or not hmac.compare_digest(cookie, nonce):
        raise BindingRefused("state of another browser")
    key = _STATE_KEY.format(nonce)
    offer = cache.get(key)
    if offer is None or not cache.delete(key):  # expired, or used already (a replay)
        raise BindingRefused("expired or used state")
    if not code:
        raise BindingRefused("no code")
    openid = wechat.openid_for_code(code)
    customer_bind_wechat(customer_id=offer["c"], openid=openid, source=offer["s"])
    return offer
