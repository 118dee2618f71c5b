from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    CRITICAL = "critical", _("紧急")
    HIGH = "high", _("高")
    MEDIUM = "medium", _("中")
    LOW = "low", _("低")


class ComplaintPolicy(models.Model):
    """The SLA (admin-editable, one row): first-response and resolution deadlines per
    severity, counted in the shop calendar's business hours (working days, holidays
    excluded)."""

    critical_response_hours = models.PositiveSmallIntegerField(
        _("紧急：首次响应（工作小时）"), default=1
    )
    critical_resolution_hours = models.PositiveSmallIntegerField(
        _("紧急：解决（工作小时）"), default=24
    )
    high_response_hours = models.PositiveSmallIntegerField(_("高：首次响应（工作小时）"), default=4)
    high_resolution_hours = models.PositiveSmallIntegerField(_("高：解决（工作小时）"), default=48)
    medium_response_hours = models.PositiveSmallIntegerField(
        _("中：首次响应（工作小时）"), default=24
    )
    medium_resolution_hours = models.PositiveSmallIntegerField(
        _("中：解决（工作小时）"), default=72
    )
    low_response_hours = models.PositiveSmallIntegerField(_("低：首次响应（工作小时）"), default=48)
    low_resolution_hours = models.PositiveSmallIntegerField(_("低：解决（工作小时）"), default=168)

    class Meta:
        verbose_name = _("投诉时限规则")
        verbose_name_plural = _("投诉时限规则")

    def __str__(self):
        return str(_("投诉时限规则"))

    @classmethod
    def current(cls) -> "ComplaintPolicy":
        policy, _created = cls.objects.get_or_create(pk=1)
        return policy

    def hours_for(self, severity: str) -> tuple[int, int]:
        return (
            getattr(self, f"{severity}_response_hours"),
            getattr(self, f"{severity}_resolution_hours"),
        )


class ComplaintNumberSequence(models.Model):
    """The last complaint number of a year; a row lock hands out the next one (no gaps: the
    number is taken in the complaint's own transaction)."""

    year = models.PositiveSmallIntegerField(unique=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("投诉编号序列")
        verbose_name_plural = _("投诉编号序列")

    def __str__(self):
        return f"{self.year}: {self.last}"


class Complaint(models.Model):
    class Channel(models.TextChoices):
        PHONE = "phone", _("电话")
        WALK_IN = "walk_in", _("到店")
        FOLLOW_UP = "follow_up", _("回访电话")
        SURVEY_ALERT = "survey_alert", _("调查预警")
        WECHAT = "wechat", _("微信")
        WEB = "web", _("网站")
        OEM_HOTLINE = "oem_hotline", _("厂家热线")
        ONLINE_REVIEW = "online_review", _("网络评价")

    class Category(models.TextChoices):
        ATTITUDE = "attitude", _("服务态度差")
        OVERCHARGING = "overcharging", _("收费过高")
        LONG_WAIT = "long_wait", _("等待时间过长")
        PRODUCT_QUALITY = "product_quality", _("产品质量问题")
        PROMISE_NOT_KEPT = "promise_not_kept", _("承诺未兑现")
        NOT_FIXED_FIRST_TIME = "not_fixed_first_time", _("未一次修好")
        WARRANTY_DISPUTE = "warranty_dispute", _("保修纠纷")
        POOR_AFTER_SALES = "poor_after_sales", _("售后服务差")
        EXAGGERATED_ADVERTISING = "exaggerated_advertising", _("广告夸大")
        UNFOUNDED = "unfounded", _("不实投诉")
        OTHER = "other", _("其他")

    class Status(models.TextChoices):
        NEW = "new", _("新投诉")
        ACKNOWLEDGED = "acknowledged", _("已响应")
        IN_PROGRESS = "in_progress", _("处理中")
        RESOLVED = "resolved", _("已解决")
        CLOSED = "closed", _("已关闭")

    class RootCause(models.TextChoices):
        # The shop's three classes of root cause; the labels say what each covers.
        VALUE = "value", _("价格/价值（收费、配件）")
        SYSTEM = "system", _("流程/制度（预约、排程、交车）")
        PEOPLE = "people", _("人员（态度、技能）")

    OPEN = (Status.NEW, Status.ACKNOWLEDGED, Status.IN_PROGRESS)

    number = models.CharField(_("投诉编号"), max_length=16, unique=True)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        related_name="complaints",
    )
    vehicle = models.ForeignKey(
        "customers.Vehicle",
        verbose_name=_("车辆"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="complaints",
    )
    visit = models.ForeignKey(
        "visits.Visit",
        verbose_name=_("工单"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="complaints",
    )
    channel = models.CharField(_("来源渠道"), max_length=16, choices=Channel)
    category = models.CharField(_("投诉类别"), max_length=24, choices=Category)
    severity = models.CharField(
        _("严重程度"), max_length=10, choices=Severity, default=Severity.MEDIUM
    )
    description = models.TextField(_("投诉内容"))
    status = models.CharField(_("状态"), max_length=14, choices=Status, default=Status.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("首问负责人"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_complaints",
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_complaints",
    )
    received_at = models.DateTimeField(_("受理时间"))
    first_response_due_at = models.DateTimeField(_("首次响应时限"))
    resolution_due_at = models.DateTimeField(_("解决时限"))
    acknowledged_at = models.DateTimeField(_("首次响应时间"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("解决时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("关闭时间"), null=True, blank=True)
    resolution = models.TextField(_("处理结果"), blank=True)
    root_cause = models.CharField(_("根本原因"), max_length=10, choices=RootCause, blank=True)
    corrective_action = models.TextField(_("纠正措施"), blank=True)
    customer_accepted = models.BooleanField(_("客户接受处理结果"), null=True, blank=True)
    resolution_round = models.PositiveSmallIntegerField(_("解决次数"), default=0)
    escalation_level = models.PositiveSmallIntegerField(_("升级级别"), default=0)
    follow_up_task = models.ForeignKey(
        "followups.FollowUpTask",
        verbose_name=_("来源回访"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaints",
    )
    survey_response = models.ForeignKey(
        "surveys.SurveyResponse",
        verbose_name=_("来源答卷"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="complaints",
    )
    external_id = models.CharField(_("外部编号"), max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("投诉")
        verbose_name_plural = _("投诉")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="complaint_external_id",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["resolved", "closed"])
                | (~Q(resolution="") & ~Q(root_cause="") & ~Q(corrective_action="")),
                name="complaint_resolved_has_resolution",
            ),
        ]
        indexes = [
            models.Index(fields=["received_at"], name="complaint_received_idx"),
            models.Index(fields=["updated_at", "id"], name="complaint_updated_idx"),
            models.Index(
                fields=["resolution_due_at"],
                condition=Q(status__in=["new", "acknowledged", "in_progress"]),
                name="complaint_open_due_idx",
            ),
        ]
        permissions = [
            ("manage_complaint", _("可分派、解决、关闭任何投诉")),
            ("export_complaint", _("可导出投诉")),
            ("create_via_api", _("可通过接口创建和读取投诉（厂家热线）")),
        ]

    def __str__(self):
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class ComplaintEvent(models.Model):
    """The complaint's timeline: every change, note and customer contact, with who and when."""

    class Kind(models.TextChoices):
        CREATED = "created", _("受理")
        ACKNOWLEDGED = "acknowledged", _("首次响应")
        STARTED = "started", _("开始处理")
        ASSIGNED = "assigned", _("分派")
        NOTE = "note", _("备注")
        CONTACT = "contact", _("联系客户")
        RESOLVED = "resolved", _("解决")
        CLOSED = "closed", _("关闭")
        REOPENED = "reopened", _("重新打开")
        ESCALATED = "escalated", _("超时升级")
        CALLBACK = "callback", _("回访结果")
        COMPLETED = "completed", _("补全登记")

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("投诉"), on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(_("类型"), max_length=14, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("时间"))
    text = models.TextField(_("内容"), blank=True)
    from_status = models.CharField(_("原状态"), max_length=14, blank=True)
    to_status = models.CharField(_("新状态"), max_length=14, blank=True)

    class Meta:
        verbose_name = _("投诉记录")
        verbose_name_plural = _("投诉记录")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.complaint_id} {self.kind}"


class ComplaintEscalation(models.Model):
    """One row per breached deadline: the unique constraint makes each escalation happen
    once, however many sweeps run."""

    class Level(models.IntegerChoices):
        FIRST_RESPONSE = 1, _("首次响应超时")
        RESOLUTION = 2, _("解决超时")

    complaint = models.ForeignKey(
        Complaint, verbose_name=_("投诉"), on_delete=models.CASCADE, related_name="escalations"
    )
    level = models.PositiveSmallIntegerField(_("级别"), choices=Level)
    round = models.PositiveSmallIntegerField(_("解决次数"), default=0)
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("投诉升级")
        verbose_name_plural = _("投诉升级")
        constraints = [
            models.UniqueConstraint(
                fields=["complaint", "level", "round"], name="complaint_escalation_once"
            )
        ]

    def __str__(self):
        return f"{self.complaint_id} L{self.level}"


class Notification(models.Model):
    """An in-app message to a member of staff (escalations, a reopened complaint)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    text = models.CharField(_("内容"), max_length=300)
    url = models.CharField(_("链接"), max_length=200, blank=True)
    key = models.CharField(_("去重键"), max_length=100)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_key")
        ]
        indexes = [
            models.Index(
                fields=["user", "created_at"], condition=Q(read_at__isnull=True), name="unread_idx"
            )
        ]

    def __str__(self):
        return self.text
