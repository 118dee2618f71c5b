from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import TokenProxy

from .models import ApiToken, IdempotencyRecord
from .services import api_token_create

# DRF's own tokens are kept in clear; ours are hashed (ApiToken). Its admin would make
# tokens nobody checks any more.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("user", "expires_at")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Make a token (its key is shown once, on the next page), see when each was last used,
    give it an expiry, revoke it by deleting it."""

    form = ApiTokenForm
    list_display = ("user", "prefix", "created_at", "expires_at", "last_used_at")
    list_filter = ("created_at", "last_used_at")
    search_fields = ("user__username", "prefix")
    raw_id_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        # The client of an existing token stays; only its expiry changes.
        return ("user", "prefix", "created_at", "last_used_at") if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        token, key = api_token_create(user=obj.user, expires_at=obj.expires_at)
        obj.pk, obj.digest, obj.prefix = token.pk, token.digest, token.prefix
        messages.warning(
            request,
            _("新令牌（只显示这一次，请立即复制到 DMS）：%(key)s") % {"key": key},
        )


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("created_at", "client", "endpoint", "key", "status_code")
    list_filter = ("endpoint", "status_code", "created_at")
    search_fields = ("key", "client__username")
    readonly_fields = (
        "client",
        "key",
        "endpoint",
        "request_sha256",
        "status_code",
        "response",
        "created_at",
    )

    def has_add_permission(self, request):
        return False
