"""Chinese labels (the source language; English in locale/en) for the admin sections of the
libraries whose own catalogues have no Simplified Chinese: django-axes (login lockout)."""

from django.apps import apps
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

AXES_MODELS = {
    "accessattempt": (_("登录失败记录"), _("登录失败记录")),
    "accesslog": (_("登录日志"), _("登录日志")),
    "accessfailurelog": (_("登录失败日志"), _("登录失败日志")),
    "accessattemptexpiration": (_("失败记录有效期"), _("失败记录有效期")),
}
AXES_FIELDS = {
    "user_agent": _("浏览器标识"),
    "ip_address": _("IP 地址"),
    "username": _("用户名"),
    "http_accept": _("HTTP Accept 请求头"),
    "path_info": _("路径"),
    "attempt_time": _("尝试时间"),
    "locked_out": _("已锁定"),
    "get_data": _("GET 数据"),
    "post_data": _("POST 数据"),
    "failures_since_start": _("失败次数"),
    "logout_time": _("退出时间"),
    "session_hash": _("会话密钥哈希（SHA-256）"),
    "access_attempt": _("登录失败记录"),
    "expires_at": _("到期时间"),
}
FORM_DATA, META_DATA = _("表单数据"), _("请求信息")


def relabel_axes() -> None:
    if not apps.is_installed("axes"):
        return
    from axes import admin as axes_admin
    from axes.conf import settings as axes_settings

    apps.get_app_config("axes").verbose_name = _("登录保护")
    for model in apps.get_app_config("axes").get_models():
        names = AXES_MODELS.get(model._meta.model_name)
        if names:
            model._meta.verbose_name, model._meta.verbose_name_plural = names
        for field in model._meta.get_fields():
            if field.name in AXES_FIELDS and hasattr(field, "verbose_name"):
                field.verbose_name = AXES_FIELDS[field.name]
    for admin_class in (
        axes_admin.AccessAttemptAdmin,
        axes_admin.AccessLogAdmin,
        axes_admin.AccessFailureLogAdmin,
    ):
        admin_class.fieldsets = tuple(
            (_section(title, options["fields"]), options)
            for title, options in admin_class.fieldsets
        )
    axes_admin.IsLockedOutFilter.title = _("是否已锁定")
    axes_admin.IsLockedOutFilter.lookups = lambda self, request, model_admin: (
        ("yes", _("是")),
        ("no", _("否")),
    )
    axes_admin.AccessAttemptAdmin.cleanup_expired_attempts.short_description = _(
        "清理已过期的失败记录"
    )

    @admin.display(description=_("状态"))
    def status(self, attempt):
        limit = axes_settings.AXES_FAILURE_LIMIT
        if attempt.failures_since_start < limit:
            return _("还可尝试 %(count)s 次") % {"count": limit - attempt.failures_since_start}
        return _("已锁定")

    axes_admin.AccessAttemptAdmin.status = status


def _section(title, fields):
    """axes' sections by what they hold: the request's form data, its metadata."""
    if "get_data" in fields:
        return FORM_DATA
    if "user_agent" in fields:
        return META_DATA
    return title
