from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Right
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .validators import display_phone, mask_phone


class WeChatSource(models.TextChoices):
    """The public page a customer bound their WeChat on."""

    STATUS_PAGE = "status_page", _("维修进度页")
    SURVEY = "survey", _("满意度调查页")
    BOOKING = "booking", _("在线预约页")


class ValueTier(models.TextChoices):
    """METRICS.md's value pyramid (reports.dashboard.TIERS, best first)."""

    VIP = "vip", "VIP"
    CORE = "core", _("核心")
    REGULAR = "regular", _("普通")
    LOW = "low", _("低价值")


class Customer(models.Model):
    class Kind(models.TextChoices):
        INDIVIDUAL = "individual", _("个人")
        COMPANY = "company", _("单位")

    class Channel(models.TextChoices):
        SMS = "sms", _("短信")
        WECHAT = "wechat", _("微信")
        EMAIL = "email", _("电子邮件")
        PHONE = "phone", _("电话")

    class Language(models.TextChoices):
        """The languages of the service messages (settings.LANGUAGES' codes)."""

        ZH_HANS = "zh-hans", "简体中文"
        EN = "en", "English"

    class ContactWindow(models.TextChoices):
        ANY = "any", _("任何时间")
        MORNING = "morning", _("上午 9–12 点")
        AFTERNOON = "afternoon", _("下午 13–18 点")
        EVENING = "evening", _("晚上 18–20 点")
        WEEKEND = "weekend", _("仅周末")

    name = models.CharField(_("姓名/单位名称"), max_length=100)
    kind = models.CharField(_("客户类型"), max_length=12, choices=Kind, default=Kind.INDIVIDUAL)
    phone = models.CharField(
        _("手机号"), max_length=20, help_text=_("E.164 格式，如 +8613812345678")
    )
    phone2 = models.CharField(_("备用电话"), max_length=20, blank=True)
    email = models.EmailField(_("电子邮件"), blank=True)
    wechat_openid = models.CharField(_("微信 OpenID"), max_length=64, blank=True)
    # When and where the customer bound their WeChat (the OAuth binding on a public page).
    wechat_bound_at = models.DateTimeField(_("微信绑定时间"), null=True, blank=True)
    wechat_bound_source = models.CharField(
        _("微信绑定来源"),
        max_length=20,
        choices=WeChatSource,
        blank=True,
        default="",
        db_default="",
    )
    preferred_channel = models.CharField(
        _("首选联系方式"), max_length=10, choices=Channel, default=Channel.SMS
    )
    contact_window = models.CharField(
        _("方便联系时间"), max_length=10, choices=ContactWindow, default=ContactWindow.ANY
    )
    marketing_consent = models.BooleanField(_("同意接收营销信息"), default=False)
    marketing_consent_at = models.DateTimeField(_("同意时间"), null=True, blank=True)
    marketing_consent_source = models.CharField(_("同意来源"), max_length=40, blank=True)
    do_not_contact = models.BooleanField(_("请勿联系"), default=False)
    # Service messages (check-in, ready, e-RO…) need no marketing consent, but the customer
    # may turn them off (customers.contact: the SERVICE purpose).
    service_messages = models.BooleanField(_("接收维修进度通知"), default=True)
    preferred_language = models.CharField(
        _("通知语言"), max_length=10, choices=Language, default=Language.ZH_HANS
    )
    external_id = models.CharField(_("DMS 编号"), max_length=64, null=True, blank=True)
    source_updated_at = models.DateTimeField(
        _("DMS 更新时间"), null=True, blank=True, help_text=_("DMS 中该记录的最后修改时间")
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("已合并到"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_customers",
    )
    # False for a customer the booking page created from a verified mobile alone (issue 18):
    # the advisor completes the record at check-in; the note says where it came from.
    verified = models.BooleanField(_("资料已核实"), default=True)
    verification_note = models.CharField(_("待核实说明"), max_length=100, blank=True)
    # The customer's own service advisor (issue 19): set by their first visit, changed on the
    # customer page, moved in bulk by a manager when an advisor leaves.
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("专属顾问"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_customers",
    )
    # The value tier (METRICS.md "Customer value tiers") as of value_tier_on, refreshed by
    # the reports' nightly task: what the badge shows and the call queue's VIP policy reads.
    value_tier = models.CharField(
        _("价值等级"), max_length=10, choices=ValueTier, blank=True, default="", db_default=""
    )
    value_tier_on = models.DateField(_("价值等级计算日"), null=True, blank=True)
    # Set by privacy.services.customer_erase: the record stays only as anonymous statistics.
    erased_at = models.DateTimeField(_("个人信息删除时间"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    # The value tier is a figure recomputed every night, not a change anyone made.
    history = HistoricalRecords(excluded_fields=["updated_at", "value_tier", "value_tier_on"])

    class Meta:
        verbose_name = _("客户")
        verbose_name_plural = _("客户")
        ordering = ["-created_at"]
        permissions = [
            ("reveal_phone", _("可查看完整电话号码")),
            ("merge_customer", _("可合并重复客户")),
            ("reassign_customers", _("可批量改派客户的专属顾问")),
        ]
        constraints = [
            # A phone number belongs to one live customer; merged records keep theirs.
            models.UniqueConstraint(
                fields=["phone"],
                condition=Q(merged_into__isnull=True),
                name="customer_unique_active_phone",
            ),
            models.UniqueConstraint(fields=["external_id"], name="customer_unique_external_id"),
        ]
        indexes = [
            models.Index(Right("phone", 4), name="customer_phone_last4_idx"),
            models.Index(fields=["phone2"], name="customer_phone2_idx"),
            models.Index(fields=["name"], name="customer_name_idx"),
            models.Index(fields=["updated_at"], name="customer_updated_idx"),
        ]

    def __str__(self):
        return self.name

    @property
    def masked_phone(self) -> str:
        return "—" if self.erased_at else mask_phone(self.phone)

    @property
    def phone_display(self) -> str:
        return display_phone(self.phone)

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


class Vehicle(models.Model):
    owner = models.ForeignKey(
        Customer, verbose_name=_("车主"), on_delete=models.PROTECT, related_name="vehicles"
    )
    vin = models.CharField(_("车架号（VIN）"), max_length=17)
    vin_check_override = models.BooleanField(_("VIN 校验位例外"), default=False)
    vin_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("例外确认人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    vin_override_at = models.DateTimeField(_("例外确认时间"), null=True, blank=True)
    plate = models.CharField(_("车牌号"), max_length=10, blank=True)
    is_active = models.BooleanField(
        _("在用"), default=True, help_text=_("转卖、报废的车辆不再占用车牌号。")
    )
    brand = models.CharField(_("品牌"), max_length=40, blank=True)
    model = models.CharField(_("车型"), max_length=60, blank=True)
    model_year = models.PositiveSmallIntegerField(_("年款"), null=True, blank=True)
    colour = models.CharField(_("颜色"), max_length=20, blank=True)
    registration_date = models.DateField(_("上牌日期"), null=True, blank=True)
    purchase_date = models.DateField(_("购车日期"), null=True, blank=True)
    odometer_km = models.PositiveIntegerField(_("最近里程（公里）"), null=True, blank=True)
    external_id = models.CharField(_("DMS 编号"), max_length=64, null=True, blank=True)
    source_updated_at = models.DateTimeField(
        _("DMS 更新时间"), null=True, blank=True, help_text=_("DMS 中该记录的最后修改时间")
    )
    # False for a car the booking page registered from its plate alone (a placeholder VIN
    # that no real VIN can equal: UNVERIFIED_VIN_PREFIX); the advisor completes it.
    verified = models.BooleanField(_("资料已核实"), default=True)
    verification_note = models.CharField(_("待核实说明"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        verbose_name = _("车辆")
        verbose_name_plural = _("车辆")
        ordering = ["plate"]
        constraints = [
            models.UniqueConstraint(fields=["vin"], name="vehicle_unique_vin"),
            models.UniqueConstraint(
                fields=["plate"],
                condition=Q(is_active=True) & ~Q(plate=""),
                name="vehicle_unique_current_plate",
            ),
            models.UniqueConstraint(fields=["external_id"], name="vehicle_unique_external_id"),
            models.CheckConstraint(
                condition=Q(vin_check_override=False) | Q(vin_override_at__isnull=False),
                name="vehicle_vin_override_recorded",
            ),
        ]
        indexes = [
            models.Index(fields=["plate"], name="vehicle_plate_idx"),
            models.Index(Right("vin", 6), name="vehicle_vin_last6_idx"),
            models.Index(fields=["updated_at"], name="vehicle_updated_idx"),
        ]

    def __str__(self):
        return self.plate or self.vin


class PhoneReveal(models.Model):
    """One row each time someone sees a customer's full phone number."""

    customer = models.ForeignKey(
        Customer, verbose_name=_("客户"), on_delete=models.CASCADE, related_name="phone_reveals"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("查看人"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    revealed_at = models.DateTimeField(_("查看时间"), auto_now_add=True)
    context = models.CharField(_("场景"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("电话查看记录")
        verbose_name_plural = _("电话查看记录")
        ordering = ["-revealed_at"]

    def __str__(self):
        return f"{self.user} → {self.customer} {self.revealed_at:%Y-%m-%d %H:%M}"


class CustomerMerge(models.Model):
    """The record of a merge: who folded which customer into which, and what moved."""

    source = models.ForeignKey(
        Customer, verbose_name=_("被合并客户"), on_delete=models.PROTECT, related_name="+"
    )
    target = models.ForeignKey(
        Customer, verbose_name=_("保留客户"), on_delete=models.PROTECT, related_name="merges"
    )
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("操作人"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    merged_at = models.DateTimeField(_("合并时间"), auto_now_add=True)
    moved = models.JSONField(_("转移的记录"), default=dict)

    class Meta:
        verbose_name = _("客户合并记录")
        verbose_name_plural = _("客户合并记录")
        ordering = ["-merged_at"]

    def __str__(self):
        return f"{self.source_id} → {self.target_id}"
