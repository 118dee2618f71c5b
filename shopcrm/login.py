"""Signing in to the browser. django-axes locks a username at one address after a few
failures; this adds what axes does not: a limit per address across usernames (password
spraying from one machine), and API clients (DMS, OEM hotline) never sign in to pages."""

from axes.helpers import get_client_ip_address
from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .roles import API_ONLY_ROLES


def address_failures(ip_address: str | None) -> int:
    """Failed sign-ins from this address within the lockout window, whatever the username
    (axes' own records, in the database)."""
    if not ip_address:
        return 0
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    total = AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=since).aggregate(
        failures=Sum("failures_since_start")
    )["failures"]
    return total or 0


def is_api_only(user) -> bool:
    """A token client: every role it holds is an API role (a staff member may hold one
    too, for tests of the hotline, and still signs in)."""
    names = set(user.groups.values_list("name", flat=True))
    return bool(names) and names <= API_ONLY_ROLES and not user.is_staff


class LoginForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "address_locked": _("这台电脑登录失败次数过多，请 %(minutes)s 分钟后再试或联系管理员。"),
        "api_only": _("接口账号只能通过 API 访问，不能登录网页。"),
    }

    def clean(self):
        if (
            address_failures(get_client_ip_address(self.request))
            >= settings.LOGIN_FAILURES_PER_ADDRESS
        ):
            raise forms.ValidationError(
                self.error_messages["address_locked"],
                code="address_locked",
                params={"minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)},
            )
        return super().clean()

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if is_api_only(user):
            raise forms.ValidationError(self.error_messages["api_only"], code="api_only")
