from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The first answer to a request sent with an Idempotency-Key, returned to its retries.

    Unique per (client, key): two concurrent requests with the same key cannot both write.
    """

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("接口客户端"), on_delete=models.CASCADE
    )
    key = models.CharField(_("幂等键（SHA-256）"), max_length=200)
    endpoint = models.CharField(_("接口"), max_length=100)
    request_sha256 = models.CharField(_("请求摘要"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("状态码"))
    response = models.JSONField(_("应答"))
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("幂等请求")
        verbose_name_plural = _("幂等请求")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["client", "key"], name="idempotency_unique_client_key")
        ]
        permissions = [
            ("sync_dms", _("可通过接口同步 DMS 数据")),
            ("read_api", _("可通过接口读取客户、车辆和工单")),
        ]

    def __str__(self):
        return f"{self.client_id}:{self.key}"


class ApiToken(models.Model):
    """An API client's token, stored only as its SHA-256 (the key is shown once, when it is
    made). ``Authorization: Token <key>`` as API.md says. Optional expiry; the time of last
    use is kept to the minute."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接口客户端"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    digest = models.CharField(_("摘要（SHA-256）"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        _("前缀"), max_length=8, editable=False, help_text=_("令牌的前 8 位，用于辨认")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    expires_at = models.DateTimeField(
        _("过期时间"), null=True, blank=True, help_text=_("留空表示不过期")
    )
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.user} {self.prefix}…"
