"""Campaigns (issue 19): a manager's audience, contacted once per (campaign, customer) by
call tasks and/or messages, with the results that followed. A recall (召回) campaign's
audience is an imported VIN list, one row per (campaign, vehicle)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Campaign(models.Model):
    class Kind(models.TextChoices):
        MARKETING = "marketing", _("营销活动")
        RECALL = "recall", _("车辆召回")

    class Audience(models.TextChoices):
        SERVICE_DUE = "service_due", _("N 天内到期保养")
        AT_RISK = "at_risk", _("有流失风险")
        LAPSED = "lapsed", _("已流失")
        VALUE_TIER = "value_tier", _("客户价值等级")
        MILEAGE_BAND = "mileage_band", _("日均里程段")
        VEHICLE_MODEL = "vehicle_model", _("车型")
        LAST_VISIT = "last_visit", _("上次回厂日期")
        VIN_LIST = "vin_list", _("导入的 VIN 清单（召回）")

    class Channel(models.TextChoices):
        CALL = "call", _("电话回访任务")
        MESSAGE = "message", _("消息（短信/微信）")
        BOTH = "both", _("电话和消息")

    class Status(models.TextChoices):
        DRAFT = "draft", _("草稿")
        SCHEDULED = "scheduled", _("已排期")
        RUNNING = "running", _("进行中")
        ENDED = "ended", _("已结束")
        CANCELLED = "cancelled", _("已取消")

    class ValueTier(models.TextChoices):
        VIP = "vip", _("VIP")
        CORE = "core", _("核心")
        REGULAR = "regular", _("普通")
        LOW = "low", _("低价值")

    # The daily-mileage bands of the segments (reports.metrics.BANDS), by index.
    MILEAGE_BANDS = [
        (0, _("5–50 公里/天")),
        (1, _("50–150 公里/天")),
        (2, _("150–300 公里/天")),
        (3, _("300–500 公里/天")),
    ]

    OPEN = (Status.DRAFT, Status.SCHEDULED, Status.RUNNING)

    name = models.CharField(_("活动名称"), max_length=100)
    kind = models.CharField(_("活动类型"), max_length=10, choices=Kind, default=Kind.MARKETING)
    audience = models.CharField(_("目标客户"), max_length=16, choices=Audience)
    due_within_days = models.PositiveSmallIntegerField(_("到期天数"), null=True, blank=True)
    value_tier = models.CharField(_("价值等级"), max_length=8, choices=ValueTier, blank=True)
    mileage_band = models.PositiveSmallIntegerField(
        _("日均里程段"), choices=MILEAGE_BANDS, null=True, blank=True
    )
    vehicle_model = models.CharField(_("车型"), max_length=60, blank=True)
    last_visit_from = models.DateField(_("上次回厂从"), null=True, blank=True)
    last_visit_to = models.DateField(_("上次回厂到"), null=True, blank=True)
    channel = models.CharField(_("联系方式"), max_length=8, choices=Channel)
    message_template = models.TextField(_("消息模板"), max_length=300, blank=True)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_on = models.DateField(_("结束日期"))
    status = models.CharField(_("状态"), max_length=10, choices=Status, default=Status.SCHEDULED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("创建人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # The bad lines of the VIN imports: [{"line": 3, "value": "…", "reason": "…"}].
    vin_import_errors = models.JSONField(_("VIN 导入错误"), default=list, blank=True)
    audience_frozen_at = models.DateTimeField(_("名单确定时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("活动")
        verbose_name_plural = _("活动")
        ordering = ["-starts_at", "-pk"]
        permissions = [("manage_campaign", _("可以创建和管理活动"))]
        indexes = [
            models.Index(
                fields=["starts_at"],
                condition=Q(status__in=["scheduled", "running"]),
                name="campaign_open_idx",
            )
        ]

    def __str__(self):
        return self.name

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class CampaignVehicle(models.Model):
    """A vehicle of a recall's imported VIN list, once per (campaign, vehicle)."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("活动"), on_delete=models.CASCADE, related_name="vehicles"
    )
    vehicle = models.ForeignKey(
        "customers.Vehicle", verbose_name=_("车辆"), on_delete=models.PROTECT, related_name="+"
    )
    line = models.PositiveIntegerField(_("文件行号"))
    created_at = models.DateTimeField(_("导入时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("召回车辆")
        verbose_name_plural = _("召回车辆")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "vehicle"], name="campaign_vehicle_once")
        ]

    def __str__(self):
        return f"{self.campaign_id} {self.vehicle_id}"


class CampaignContact(models.Model):
    """A customer of the campaign's audience (frozen when it starts), once per campaign:
    the call task and the message made for them, or why they were skipped."""

    class Skipped(models.TextChoices):
        DO_NOT_CONTACT = "do_not_contact", _("勿扰")
        NO_CONSENT = "no_consent", _("未同意营销信息")
        MESSAGES_OFF = "messages_off", _("已关闭服务通知")
        NO_ADDRESS = "no_address", _("无可用联系方式")

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("活动"), on_delete=models.CASCADE, related_name="contacts"
    )
    customer = models.ForeignKey(
        "customers.Customer", verbose_name=_("客户"), on_delete=models.PROTECT, related_name="+"
    )
    vehicle = models.ForeignKey(
        "customers.Vehicle",
        verbose_name=_("车辆"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    task = models.ForeignKey(
        "followups.FollowUpTask",
        verbose_name=_("回访任务"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    message = models.ForeignKey(
        "messaging.Message",
        verbose_name=_("消息"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    skipped = models.CharField(_("未联系原因"), max_length=16, choices=Skipped, blank=True)
    created_at = models.DateTimeField(_("加入时间"), auto_now_add=True)
    planned_at = models.DateTimeField(_("安排联系时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("活动客户")
        verbose_name_plural = _("活动客户")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="campaign_contact_once")
        ]
        indexes = [
            models.Index(
                fields=["campaign"],
                condition=Q(planned_at__isnull=True),
                name="campaign_contact_unplanned_idx",
            )
        ]

    def __str__(self):
        return f"{self.campaign_id} {self.customer_id}"
