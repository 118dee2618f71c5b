"""WeChat Official Account: template messages and the OAuth (snsapi_base) binding (issue 18).

Written against WeChat's documented HTTPS API, no SDK (docs/decisions.md, "WeChat, for
real"): ``GET /cgi-bin/token`` for the access token, ``POST /cgi-bin/message/template/send``
for a template message and ``GET /sns/oauth2/access_token`` to exchange an OAuth code for the
visitor's OpenID. The base URLs come from settings (WECHAT_API_BASE, WECHAT_AUTHORIZE_URL),
so the tests point them at a fake server.

The access token is shared by every process through Django's cache (Redis in production):
kept a little less long than WeChat says it lives, and refreshed by one process at a time
(a lock in the cache), because each fetch invalidates the previous token after five minutes
and WeChat caps the fetches a day.
"""

import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

from django.conf import settings
from django.core.cache import cache as default_cache

from shopcrm.cache import redis_down

from .backends import SendError

logger = logging.getLogger("shopcrm.messaging")

TIMEOUT = 10
# The token is kept this much less long than WeChat's expires_in (7200 s): no process ever
# sends with a token about to lapse.
TOKEN_MARGIN = 300
LOCK_SECONDS = 30  # longer than a fetch may take (TIMEOUT)
LOCK_WAIT = 15.0

# The documented error codes (https://developers.weixin.qq.com/doc/offiaccount/Getting_Started/Global_Return_Code.html)
# and what the outbox does with them; the table is in docs/decisions.md.
TOKEN_INVALID = frozenset({40001, 40014, 42001})
# WeChat cannot reach this person with this message: the outbox sends it by SMS instead.
REFUSED = {
    40003: "invalid openid",
    40037: "invalid template_id",
    43004: "require subscribe",
    43101: "user refuse to accept the msg",
    47003: "argument invalid",
    48001: "api unauthorized",
}
# The account's configuration is wrong: no message can go by WeChat until it is fixed.
MISCONFIGURED = {
    40013: "invalid appid",
    40125: "invalid appsecret",
    40164: "invalid ip, not in whitelist",
    41002: "appid missing",
    41004: "appsecret missing",
}
# Everything else (-1 system busy, 45009 frequency limit, unknown codes) is retried.


class WeChatRefused(SendError):
    """WeChat will not deliver this message (not a follower, refused, no template…): no
    retry on WeChat; the outbox falls back to SMS."""

    def __init__(self, message: str):
        super().__init__(message, permanent=True)


def configured() -> bool:
    return bool(settings.WECHAT_APP_ID and settings.WECHAT_APP_SECRET)


def _api(path: str) -> str:
    return settings.WECHAT_API_BASE.rstrip("/") + path


def _call(url: str, body: dict | None = None) -> dict:
    """GET (no body) or POST JSON; WeChat answers JSON with HTTP 200, errors as errcode."""
    data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 (https in production, the fake in tests)
        url,
        data=data,
        headers={"Content-Type": "application/json; charset=utf-8"} if data else {},
        method="POST" if data is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise SendError(f"WeChat HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, ValueError, OSError) as exc:
        raise SendError(f"WeChat unreachable: {exc}") from exc


def _error(answer: dict) -> str:
    return f"WeChat {answer.get('errcode')}: {answer.get('errmsg', '')}"


class WeChatClient:
    """The access token (cached across processes) and the calls that need it."""

    def __init__(self, cache=None):
        self.cache = cache or default_cache
        self.app_id = settings.WECHAT_APP_ID
        self.secret = settings.WECHAT_APP_SECRET
        self.token_key = f"wechat:access-token:{self.app_id}"
        self.lock_key = f"wechat:access-token-lock:{self.app_id}"

    def access_token(self, *, stale: str = "") -> str:
        """The shared token; ``stale`` is one WeChat just called invalid: a newer one is
        fetched unless another process already has."""
        token = self.cache.get(self.token_key)
        if token and token != stale:
            return token
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            if self.cache.add(self.lock_key, uuid.uuid4().hex, timeout=LOCK_SECONDS):
                try:
                    token = self.cache.get(self.token_key)
                    if token and token != stale:
                        return token
                    return self._fetch_token()
                finally:
                    self.cache.delete(self.lock_key)
            if redis_down.now():  # no shared cache: retried later, not a token per send
                raise SendError("WeChat access token: the shared cache (Redis) is down")
            time.sleep(0.05)  # another process is fetching: wait for its token
            token = self.cache.get(self.token_key)
            if token and token != stale:
                return token
            if time.monotonic() > deadline:
                raise SendError("WeChat access token: another process holds the refresh lock")

    def _fetch_token(self) -> str:
        query = urllib.parse.urlencode(
            {"grant_type": "client_credential", "appid": self.app_id, "secret": self.secret}
        )
        answer = _call(_api(f"/cgi-bin/token?{query}"))
        token = answer.get("access_token")
        if not token:
            code = answer.get("errcode")
            if code in MISCONFIGURED:
                raise WeChatRefused(_error(answer))
            raise SendError(_error(answer))
        expires_in = int(answer.get("expires_in") or 7200)
        timeout = max(expires_in - TOKEN_MARGIN, expires_in // 2, 1)
        self.cache.set(self.token_key, token, timeout=timeout)
        logger.info("WeChat access token renewed (kept %s s)", timeout)
        return token

    def send_template(self, payload: dict) -> dict:
        """POST the template message; an invalid or expired token is renewed once and the
        message sent once more."""
        token = self.access_token()
        answer = self._send(token, payload)
        if answer.get("errcode") in TOKEN_INVALID:
            token = self.access_token(stale=token)
            answer = self._send(token, payload)
        return answer

    def _send(self, token: str, payload: dict) -> dict:
        query = urllib.parse.urlencode({"access_token": token})
        return _call(_api(f"/cgi-bin/message/template/send?{query}"), payload)


def template_payload(message, template_id: str) -> dict:
    """touser/template_id/url/data: the message's whole text as ``first`` (so the customer
    reads all of it whatever the template's fields), each parameter under its own name (a
    template's fields named after them are filled; the JSON column keeps no order, so no
    keyword1…n), the link (if any) as ``url``."""
    params = message.params or {}
    data = {"first": {"value": message.body}}
    data.update({name: {"value": str(value)} for name, value in params.items()})
    payload = {"touser": message.recipient, "template_id": template_id, "data": data}
    if params.get("link"):
        payload["url"] = str(params["link"])
    return payload


class WeChatTemplateBackend:
    """The outbox's sender for the WeChat channel. Returns WeChat's msgid; raises
    WeChatRefused (the outbox sends by SMS) or SendError (retried)."""

    def __init__(self, cache=None):
        self.client = WeChatClient(cache)

    def send(self, message) -> str:
        if not configured():
            raise WeChatRefused("WeChat is not configured (WECHAT_APP_ID)")
        template_id = settings.WECHAT_TEMPLATES.get(message.purpose, "")
        if not template_id:
            raise WeChatRefused(f"no WeChat template for {message.purpose}")
        answer = self.client.send_template(template_payload(message, template_id))
        code = answer.get("errcode", 0)
        if code == 0:
            return str(answer.get("msgid", ""))
        if code in REFUSED or code in MISCONFIGURED:
            raise WeChatRefused(_error(answer))
        raise SendError(_error(answer))


def authorize_url(*, redirect_uri: str, state: str) -> str:
    """Where the binding sends the visitor: WeChat's OAuth page, silent (snsapi_base)."""
    query = urllib.parse.urlencode(
        {
            "appid": settings.WECHAT_APP_ID,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": "snsapi_base",
            "state": state,
        }
    )
    return f"{settings.WECHAT_AUTHORIZE_URL}?{query}#wechat_redirect"


def openid_for_code(code: str) -> str:
    """The OpenID of the visitor WeChat sent back with ``code`` (raises SendError)."""
    query = urllib.parse.urlencode(
        {
            "appid": settings.WECHAT_APP_ID,
            "secret": settings.WECHAT_APP_SECRET,
            "code": code,
            "grant_type": "authorization_code",
        }
    )
    answer = _call(_api(f"/sns/oauth2/access_token?{query}"))
    openid = answer.get("openid") or ""
    if not openid:
        raise SendError(_error(answer), permanent=True)
    return openid
