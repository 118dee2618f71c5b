"""The idle timeout of browser sessions: reception PCs are shared, so a session nobody has
used for ``SESSION_IDLE_MINUTES`` (0: never) is signed out and its next page asks for the
password again. The time of last use is written at most once a minute (not a session write
per request), and the session's own expiry moves with it, so the database and the cookie
forget an idle session too. Token clients of the API have no session and are not affected."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils.translation import gettext as _

LAST_SEEN = "_last_seen"
WRITE_EVERY = 60  # seconds


class IdleTimeoutMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        idle = settings.SESSION_IDLE_MINUTES * 60
        user = getattr(request, "user", None)
        if idle and user is not None and user.is_authenticated:
            now = int(time.time())
            seen = request.session.get(LAST_SEEN)
            if seen is not None and now - seen > idle:
                logout(request)
                messages.info(
                    request,
                    _("您已 %(minutes)s 分钟未操作，为保护客户信息已自动退出，请重新登录。")
                    % {"minutes": settings.SESSION_IDLE_MINUTES},
                )
            elif seen is None or now - seen >= WRITE_EVERY:
                request.session[LAST_SEEN] = now
                request.session.set_expiry(idle)
        return self.get_response(request)
