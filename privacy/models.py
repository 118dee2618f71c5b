from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from api.services import IDEMPOTENCY_KEEP_DAYS


class RetentionPolicy(models.Model):
    """How long what is no longer needed is kept (one row, edited by an administrator); the
    hourly sweep (privacy.services.retention_sweep) enforces it. Expired sessions always go."""

    message_body_days = models.PositiveSmallIntegerField(
        _("消息内容保留天数"),
        default=180,
        validators=[MinValueValidator(1)],
        help_text=_("已发送、已放弃或已取消的消息，超过此天数后清空内容和模板参数"),
    )
    phone_reveal_days = models.PositiveSmallIntegerField(
        _("电话查看记录保留天数"), default=365, validators=[MinValueValidator(1)]
    )
    login_attempt_days = models.PositiveSmallIntegerField(
        _("登录尝试记录保留天数"), default=90, validators=[MinValueValidator(1)]
    )
    idempotency_days = models.PositiveSmallIntegerField(
        _("接口幂等记录保留天数"),
        default=IDEMPOTENCY_KEEP_DAYS,
        validators=[MinValueValidator(1)],
        help_text=_("DMS 重试同一请求时返回第一次的应答；应长于 DMS 的重试时间"),
    )

    class Meta:
        verbose_name = _("保留期限")
        verbose_name_plural = _("保留期限")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(message_body_days__gte=1)
                & models.Q(phone_reveal_days__gte=1)
                & models.Q(login_attempt_days__gte=1)
                & models.Q(idempotency_days__gte=1),
                name="retention_at_least_one_day",
            )
        ]

    def __str__(self):
        return str(_("保留期限"))

    @classmethod
    def current(cls) -> "RetentionPolicy":
        policy, _created = cls.objects.get_or_create(pk=1)
        return policy


class Via(models.TextChoices):
    BROWSER = "browser", _("网页")
    COMMAND = "command", _("命令行")


class ErasureRecord(models.Model):
    """That a customer's personal data was erased: who, when, which record. Never the erased
    name or phone. The DMS number is kept so the shop can ask the DMS to erase its copy."""

    # related_name "+": a merge moves a customer's records, never the record of an erasure.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    external_id = models.CharField(_("DMS 编号"), max_length=64, blank=True)
    # [{"id": …, "external_id": …}] of the records merged into the customer (the same person).
    merged_customers = models.JSONField(_("一并删除的已合并客户"), default=list, blank=True)
    erased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    operator = models.CharField(
        _("系统账号"), max_length=150, blank=True, help_text=_("命令行删除时运行命令的系统账号")
    )
    via = models.CharField(_("方式"), max_length=10, choices=Via)
    erased_at = models.DateTimeField(_("删除时间"), auto_now_add=True)
    rows = models.JSONField(_("清除的记录数"), default=dict, blank=True)

    class Meta:
        verbose_name = _("个人信息删除记录")
        verbose_name_plural = _("个人信息删除记录")
        ordering = ["-erased_at"]
        permissions = [("erase_customer", _("可删除客户个人信息"))]

    def __str__(self):
        return f"#{self.customer_id} {self.erased_at:%Y-%m-%d %H:%M}"


class AccessExportRecord(models.Model):
    """One row each time someone exports everything held about a customer (an access
    request)."""

    class Format(models.TextChoices):
        JSON = "json", "JSON"
        XLSX = "xlsx", "XLSX"

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    exported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    exported_at = models.DateTimeField(_("导出时间"), auto_now_add=True)
    format = models.CharField(_("格式"), max_length=4, choices=Format)

    class Meta:
        verbose_name = _("个人信息导出记录")
        verbose_name_plural = _("个人信息导出记录")
        ordering = ["-exported_at"]
        permissions = [("export_customer_data", _("可导出客户的全部个人信息"))]

    def __str__(self):
        return f"#{self.customer_id} {self.format} {self.exported_at:%Y-%m-%d %H:%M}"
