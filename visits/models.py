from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class ServiceType(models.TextChoices):
    MAINTENANCE = "maintenance", _("保养")
    REPAIR = "repair", _("维修")
    WARRANTY = "warranty", _("保修/索赔")
    ACCIDENT = "accident", _("事故")
    RECALL = "recall", _("召回")
    OTHER = "other", _("其他")


class Appointment(models.Model):
    class Status(models.TextChoices):
        BOOKED = "booked", _("已预约")
        ARRIVED = "arrived", _("已到店")
        NO_SHOW = "no_show", _("未到店")
        CANCELLED = "cancelled", _("已取消")

    class CancelReason(models.TextChoices):
        RESCHEDULED = "rescheduled", _("客户改期（另约时间）")
        NOT_NEEDED = "not_needed", _("客户不需要了")
        ELSEWHERE = "elsewhere", _("客户去了别的维修店")
        DUPLICATE = "duplicate", _("重复预约")
        SHOP = "shop", _("门店原因（工位、配件）")
        OTHER = "other", _("其他（请注明）")

    class Source(models.TextChoices):
        ONLINE = "online", _("客户在线预约")
        PHONE = "phone", _("电话预约")
        DESK = "desk", _("前台预约")
        DMS = "dms", _("DMS 同步")

    # No longer pending: the customer came or did not (booking_show_rate's denominator).
    SHOWN_OR_NOT = (Status.ARRIVED, Status.NO_SHOW)

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    vehicle = models.ForeignKey(
        "customers.Vehicle",
        verbose_name=_("车辆"),
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    scheduled_at = models.DateTimeField(_("预约时间"))
    service_type = models.CharField(_("服务类型"), max_length=12, choices=ServiceType)
    status = models.CharField(_("状态"), max_length=10, choices=Status, default=Status.BOOKED)
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("服务顾问"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="appointments",
    )
    notes = models.CharField(_("备注"), max_length=200, blank=True)
    source = models.CharField(
        _("预约来源"),
        max_length=8,
        choices=Source,
        default=Source.DESK,
        help_text=_("客户在线预约、坐席电话预约、前台预约或 DMS 同步"),
    )
    external_id = models.CharField(_("DMS 编号"), max_length=64, null=True, blank=True)
    source_updated_at = models.DateTimeField(
        _("DMS 更新时间"), null=True, blank=True, help_text=_("DMS 中该记录的最后修改时间")
    )
    status_changed_at = models.DateTimeField(_("状态变更时间"), null=True, blank=True)
    cancel_reason = models.CharField(_("取消原因"), max_length=12, choices=CancelReason, blank=True)
    cancel_note = models.CharField(_("取消说明"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("预约")
        verbose_name_plural = _("预约")
        ordering = ["scheduled_at"]
        constraints = [
            models.UniqueConstraint(fields=["external_id"], name="appointment_unique_external_id"),
        ]
        indexes = [
            models.Index(fields=["status", "scheduled_at"], name="appointment_status_time_idx"),
            # The read-back API's cursor (updated_at, id) and its updated_since filter.
            models.Index(fields=["updated_at", "id"], name="appointment_updated_idx"),
        ]

    def __str__(self):
        return f"{self.vehicle} {timezone.localtime(self.scheduled_at):%Y-%m-%d %H:%M}"


class Visit(models.Model):
    """A repair order (工单): one vehicle's stay in the workshop."""

    class Status(models.TextChoices):
        CHECKED_IN = "checked_in", _("已接车")
        IN_PROGRESS = "in_progress", _("维修中")
        QUALITY_CHECK = "quality_check", _("质检中")
        READY = "ready", _("待交车")
        DELIVERED = "delivered", _("已交车")
        CANCELLED = "cancelled", _("已取消")

    IN_WORKSHOP = (
        Status.CHECKED_IN,
        Status.IN_PROGRESS,
        Status.QUALITY_CHECK,
        Status.READY,
    )
    # The delivery checklist's items, in the form's order.
    CHECKLIST = (
        "checklist_charges_explained",
        "checklist_old_parts_offered",
        "checklist_car_cleaned",
        "checklist_next_service_advised",
    )

    ro_number = models.CharField(_("工单号"), max_length=32)
    vehicle = models.ForeignKey(
        "customers.Vehicle", verbose_name=_("车辆"), on_delete=models.PROTECT, related_name="visits"
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("送修人"),
        on_delete=models.PROTECT,
        related_name="visits",
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("服务顾问"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visits",
    )
    advisor_code = models.CharField(
        _("服务顾问代码"),
        max_length=64,
        blank=True,
        help_text=_("DMS 传来的未知顾问代码原样保存。"),
    )
    appointment = models.OneToOneField(
        Appointment,
        verbose_name=_("预约"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="visit",
    )
    service_type = models.CharField(_("服务类型"), max_length=12, choices=ServiceType)
    status = models.CharField(_("状态"), max_length=14, choices=Status, default=Status.CHECKED_IN)
    checked_in_at = models.DateTimeField(_("接车时间"))
    promised_at = models.DateTimeField(_("承诺交车时间"), null=True, blank=True)
    # The first promise given (check-in, the DMS, or the first revision when there was
    # none), kept when the promise is revised: the on-time rate is judged against it.
    first_promised_at = models.DateTimeField(_("首次承诺交车时间"), null=True, blank=True)
    # Database defaults too: raw and bulk inserts (the DMS sync, loaders) may leave them out.
    promise_revisions = models.PositiveSmallIntegerField(_("承诺修改次数"), default=0, db_default=0)
    delivered_at = models.DateTimeField(_("交车时间"), null=True, blank=True)
    odometer_km = models.PositiveIntegerField(_("进厂里程（公里）"), null=True, blank=True)
    odometer_lower_confirmed = models.BooleanField(_("已确认里程低于上次"), default=False)
    concern = models.TextField(_("客户描述"), blank=True)
    walkaround_notes = models.TextField(_("环车检查"), blank=True)
    estimated_amount = models.DecimalField(
        _("预估金额"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    labour_amount = models.DecimalField(
        _("工时费"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    parts_amount = models.DecimalField(
        _("材料费"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    total_amount = models.DecimalField(
        _("结算金额"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    by_appointment = models.BooleanField(_("预约到店"), default=False)
    # The delivery checklist (交车检查), ticked on the deliver form; all four: complete.
    checklist_charges_explained = models.BooleanField(
        _("已解释维修项目和费用"), default=False, db_default=False
    )
    checklist_old_parts_offered = models.BooleanField(
        _("已请客户查看/带走旧件"), default=False, db_default=False
    )
    checklist_car_cleaned = models.BooleanField(_("车辆已清洁"), default=False, db_default=False)
    checklist_next_service_advised = models.BooleanField(
        _("已告知下次保养建议"), default=False, db_default=False
    )
    next_service_advised_on = models.DateField(_("建议下次保养日期"), null=True, blank=True)
    next_service_advised_km = models.PositiveIntegerField(
        _("建议下次保养里程（公里）"), null=True, blank=True
    )
    checklist_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("交车检查人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    checklist_at = models.DateTimeField(_("交车检查时间"), null=True, blank=True)
    cancel_reason = models.CharField(_("取消原因"), max_length=200, blank=True)
    external_id = models.CharField(_("DMS 编号"), max_length=64, null=True, blank=True)
    source_updated_at = models.DateTimeField(
        _("DMS 更新时间"), null=True, blank=True, help_text=_("DMS 中该记录的最后修改时间")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    # The checklist's who and when are the history row's own user and time.
    history = HistoricalRecords(excluded_fields=["updated_at", "checklist_by", "checklist_at"])

    class Meta:
        verbose_name = _("工单")
        verbose_name_plural = _("工单")
        ordering = ["-checked_in_at"]
        constraints = [
            models.UniqueConstraint(fields=["ro_number"], name="visit_unique_ro_number"),
            models.UniqueConstraint(fields=["external_id"], name="visit_unique_external_id"),
            models.CheckConstraint(
                condition=~Q(status="delivered") | Q(delivered_at__isnull=False),
                name="visit_delivered_has_time",
            ),
            models.CheckConstraint(
                condition=Q(delivered_at__isnull=True)
                | Q(delivered_at__gte=models.F("checked_in_at")),
                name="visit_delivered_after_check_in",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "promised_at"], name="visit_status_promised_idx"),
            models.Index(fields=["delivered_at"], name="visit_delivered_idx"),
            models.Index(fields=["vehicle", "checked_in_at"], name="visit_vehicle_checkin_idx"),
            models.Index(fields=["advisor", "delivered_at"], name="visit_advisor_delivered_idx"),
            # Comebacks (METRICS.md): the repairs of a vehicle by check-in time.
            models.Index(
                fields=["vehicle", "checked_in_at"],
                condition=Q(service_type__in=["repair", "warranty"]),
                name="visit_repair_checkin_idx",
            ),
            models.Index(fields=["updated_at"], name="visit_updated_idx"),
        ]

    def __str__(self):
        return self.ro_number

    @property
    def checklist_complete(self) -> bool:
        """Every item of the delivery checklist ticked (rules.CHECKLIST_COMPLETE in SQL)."""
        return all(getattr(self, name) for name in self.CHECKLIST)

    @property
    def promise_revised(self) -> bool:
        """Revised at least once: here with a reason, or moved by the DMS (rules.REVISED)."""
        return self.promise_revisions > 0 or (
            self.first_promised_at is not None and self.promised_at != self.first_promised_at
        )

    @property
    def is_late(self) -> bool:
        return (
            self.status in self.IN_WORKSHOP
            and self.promised_at is not None
            and self.promised_at < timezone.now()
        )


class PromiseRevision(models.Model):
    """A revision of a visit's promised time, with its reason (the first promise stays on
    the visit as ``first_promised_at``)."""

    class Reason(models.TextChoices):
        PARTS_LATE = "parts_late", _("配件未到")
        EXTRA_WORK = "extra_work", _("客户同意增项")
        CUSTOMER_REQUEST = "customer_request", _("客户要求")
        WORKSHOP_DELAY = "workshop_delay", _("车间延误")
        OTHER = "other", _("其他（请注明）")

    visit = models.ForeignKey(
        Visit, verbose_name=_("工单"), on_delete=models.CASCADE, related_name="promise_changes"
    )
    from_promised_at = models.DateTimeField(_("原承诺时间"), null=True, blank=True)
    to_promised_at = models.DateTimeField(_("新承诺时间"))
    reason = models.CharField(_("原因"), max_length=20, choices=Reason)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("修改人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("修改时间"), default=timezone.now)

    class Meta:
        verbose_name = _("承诺时间修改")
        verbose_name_plural = _("承诺时间修改")
        ordering = ["visit", "at", "pk"]

    def __str__(self):
        return f"{self.visit} → {timezone.localtime(self.to_promised_at):%Y-%m-%d %H:%M}"


class RoNumberSequence(models.Model):
    """The last RO number used on a day; a row lock hands out the next one."""

    day = models.DateField(unique=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("工单号序列")
        verbose_name_plural = _("工单号序列")

    def __str__(self):
        return f"{self.day}: {self.last}"


class StatusLink(models.Model):
    """A link to the visit's status page (/r/<token>/) as the customer received it: 192
    random bits in the link, only their SHA-256 here. A visit has one per message that
    carried it; each lives until 30 days after the car was handed back (or cancelled)."""

    visit = models.ForeignKey(
        Visit, verbose_name=_("工单"), on_delete=models.CASCADE, related_name="status_links"
    )
    token_hash = models.CharField(_("令牌哈希"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("进度查询链接")
        verbose_name_plural = _("进度查询链接")

    def __str__(self):
        return f"{self.visit} · {self.created_at:%Y-%m-%d %H:%M}"


ANSWERED_CODES = ["approved", "declined", "deferred"]


class WorkItem(models.Model):
    """A line of the repair order: the work planned at check-in, or extra work (增项) found
    during the repair and put to the customer, who approves, declines or defers it (on the
    status page, or by phone through the advisor). An answer is never changed: a new request
    is a new item."""

    class Kind(models.TextChoices):
        PLANNED = "planned", _("计划项目")
        EXTRA = "extra", _("增项")

    class Urgency(models.TextChoices):
        SAFETY = "safety", _("安全隐患，建议立即处理")
        RECOMMENDED = "recommended", _("建议处理")
        CAN_WAIT = "can_wait", _("可以稍后处理")

    class Status(models.TextChoices):
        PLANNED = "planned", _("计划")
        AWAITING = "awaiting", _("待客户确认")
        APPROVED = "approved", _("客户同意")
        DECLINED = "declined", _("客户拒绝")
        DEFERRED = "deferred", _("下次再做")

    class Channel(models.TextChoices):
        STATUS_PAGE = "status_page", _("进度页")
        PHONE = "phone", _("电话")
        DMS = "dms", _("DMS")

    ANSWERED = (Status.APPROVED, Status.DECLINED, Status.DEFERRED)

    visit = models.ForeignKey(
        Visit, verbose_name=_("工单"), on_delete=models.CASCADE, related_name="work_items"
    )
    kind = models.CharField(_("类型"), max_length=8, choices=Kind, default=Kind.EXTRA)
    description = models.CharField(_("项目"), max_length=200)
    labour_estimate = models.DecimalField(_("工时费预估（元）"), max_digits=10, decimal_places=2)
    parts_estimate = models.DecimalField(_("材料费预估（元）"), max_digits=10, decimal_places=2)
    urgency = models.CharField(_("紧急程度"), max_length=12, choices=Urgency, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status)
    requested_at = models.DateTimeField(_("发给客户时间"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("提出人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("客户答复时间"), null=True, blank=True)
    answer_channel = models.CharField(_("答复方式"), max_length=12, choices=Channel, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("电话确认时记录答复的服务顾问"),
    )
    from_recommendation = models.ForeignKey(
        "visits.Recommendation",
        verbose_name=_("来自建议项目"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # An item the DMS recorded (POST /api/v1/sync/work-items/): its id there, and the
    # DMS's change time of the row last applied (an older row is ignored).
    external_id = models.CharField(_("DMS 编号"), max_length=64, null=True, blank=True)
    source_updated_at = models.DateTimeField(
        _("DMS 更新时间"), null=True, blank=True, help_text=_("DMS 中该记录的最后修改时间")
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("维修项目")
        verbose_name_plural = _("维修项目")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["approved", "declined", "deferred"], answered_at__isnull=False
                )
                | (
                    ~Q(status__in=["approved", "declined", "deferred"])
                    & Q(answered_at__isnull=True)
                ),
                name="work_item_answered_has_time",
            ),
            models.CheckConstraint(
                condition=Q(labour_estimate__gte=0, parts_estimate__gte=0),
                name="work_item_estimates_not_negative",
            ),
            models.UniqueConstraint(fields=["external_id"], name="work_item_unique_external_id"),
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="work_item_waiting")]

    def __str__(self):
        return self.description

    @property
    def estimate(self):
        return self.labour_estimate + self.parts_estimate


class WorkItemPhoto(models.Model):
    """A photo of a work item, taken on the tablet: checked to be an image, turned upright
    by its EXIF orientation, resized and stored as JPEG through Django's storage API."""

    item = models.ForeignKey(
        WorkItem, verbose_name=_("维修项目"), on_delete=models.CASCADE, related_name="photos"
    )
    image = models.ImageField(
        _("照片"), upload_to="work-items/%Y/%m/", width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(_("宽"), default=0)
    height = models.PositiveIntegerField(_("高"), default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("项目照片")
        verbose_name_plural = _("项目照片")
        ordering = ["pk"]

    def __str__(self):
        return f"{self.item} · {self.pk}"


class Recommendation(models.Model):
    """Work the customer declined or put off (a declined or deferred extra-work item): kept
    on the vehicle, shown at its next check-in, on the customer page and the call screen,
    called about after the policy's interval, and done when a later visit includes it."""

    class Status(models.TextChoices):
        OPEN = "open", _("待做")
        DONE = "done", _("已做")

    vehicle = models.ForeignKey(
        "customers.Vehicle",
        verbose_name=_("车辆"),
        on_delete=models.CASCADE,
        related_name="recommendations",
    )
    item = models.OneToOneField(
        WorkItem,
        verbose_name=_("来源项目"),
        on_delete=models.CASCADE,
        related_name="recommendation",
    )
    status = models.CharField(_("状态"), max_length=6, choices=Status, default=Status.OPEN)
    done_visit = models.ForeignKey(
        Visit,
        verbose_name=_("完成于工单"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="recommendations_done",
    )
    done_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"))

    class Meta:
        verbose_name = _("建议项目")
        verbose_name_plural = _("建议项目")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["vehicle", "status"], name="recommendation_open")]

    def __str__(self):
        return self.item.description
