"""``Authorization: Token <key>`` against the hashed tokens (api.tokens)."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from .models import ApiToken
from .services import digest_of

# The last-use time is written at most this often per token (not a write per request).
LAST_USED_EVERY = timedelta(minutes=1)


class HashedTokenAuthentication(authentication.TokenAuthentication):
    model = ApiToken

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("user").filter(digest=digest_of(key)).first()
        now = timezone.now()
        if token is None or (token.expires_at is not None and token.expires_at <= now):
            raise exceptions.AuthenticationFailed(_("令牌无效或已过期。"))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("该接口账号已停用。"))
        if token.last_used_at is None or token.last_used_at < now - LAST_USED_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
