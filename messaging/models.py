from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.contact import Purpose as ContactPurpose
from customers.validators import mask_phone

REDACTED = "[…]"


class Message(models.Model):
    """The outbox: one row per message, unique per (purpose, recipient, object), so a sweep
    or a retry can never send the same reminder twice."""

    class Channel(models.TextChoices):
        SMS = "sms", _("短信")
        WECHAT = "wechat", _("微信")
        EMAIL = "email", _("电子邮件")

    class Status(models.TextChoices):
        QUEUED = "queued", _("待发送")
        SENDING = "sending", _("发送中")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败，将重试")
        GAVE_UP = "gave_up", _("已放弃")
        # The contact rules refused it after it was queued (do-not-contact, consent withdrawn).
        CANCELLED = "cancelled", _("已取消（客户不再接收）")

    class Purpose(models.TextChoices):
        """What a message is for (the apps that queue messages use these codes)."""

        SURVEY_INVITATION = "survey_invitation", _("满意度调查邀请")
        SURVEY_REMINDER = "survey_reminder", _("满意度调查提醒")
        MAINTENANCE_REMINDER = "maintenance_reminder", _("保养提醒")
        COMPLAINT_NOTICE = "complaint_notice", _("投诉通知")
        # Service messages about a visit (servicemessages): one per (event, visit, round).
        SERVICE_CHECKED_IN = "service_checked_in", _("接车确认")
        SERVICE_PROMISE_REVISED = "service_promise_revised", _("交车时间变更")
        SERVICE_READY = "service_ready", _("可以取车")
        SERVICE_DELIVERED = "service_delivered", _("电子结算单")
        SERVICE_EXTRA_WORK = "service_extra_work", _("增项待确认")
        # Online booking (issue 18): the one-time code, the confirmation, the day-before
        # reminder (one per appointment and slot), and the win-back offer.
        BOOKING_CODE = "booking_code", _("预约验证码")
        BOOKING_CONFIRMED = "booking_confirmed", _("预约确认")
        BOOKING_REMINDER = "booking_reminder", _("预约提醒")
        WIN_BACK = "win_back", _("流失召回")
        # The morning digest e-mailed to a member of staff (issue 19): one per digest.
        MORNING_DIGEST = "morning_digest", _("晨报")
        # A manager's campaign to a customer (campaigns): one per (campaign, customer).
        CAMPAIGN = "campaign", _("营销活动")
        RECALL_NOTICE = "recall_notice", _("车辆召回通知")

    # The service notifications of METRICS.md ("keeping the customer informed").
    SERVICE_NOTIFICATIONS = (
        Purpose.SERVICE_CHECKED_IN,
        Purpose.SERVICE_PROMISE_REVISED,
        Purpose.SERVICE_READY,
        Purpose.SERVICE_DELIVERED,
        Purpose.SERVICE_EXTRA_WORK,
    )
    # May go out in the shop's opening hours even outside the contact hours (the customer
    # can come for the car then).
    SHOP_HOURS_PURPOSES = (Purpose.SERVICE_READY,)
    # Goes out at once whatever the hour: the customer is waiting on the page for the code.
    ANY_TIME_PURPOSES = (Purpose.BOOKING_CODE,)

    purpose = models.CharField(_("用途"), max_length=40, choices=Purpose)
    # What the contact rules (customers.contact) ask of the customer, checked when the
    # message is queued and again when it is sent. Staff e-mails have no customer.
    contact_purpose = models.CharField(
        _("联系类别"), max_length=10, choices=ContactPurpose, default=ContactPurpose.SERVICE
    )
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel)
    recipient = models.CharField(_("接收方"), max_length=254)
    object_key = models.CharField(_("关联对象"), max_length=80)
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    # The visit a service message is about (set by servicemessages; by name: the outbox
    # sits below visits and never imports it).
    visit = models.ForeignKey(
        "visits.Visit",
        verbose_name=_("工单"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
    )
    body = models.TextField(_("内容"))
    template_code = models.CharField(_("短信模板"), max_length=40, blank=True)
    params = models.JSONField(_("模板参数"), default=dict, blank=True)
    status = models.CharField(_("状态"), max_length=10, choices=Status, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(_("已尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次发送时间"))
    # When a sender took it (status "sending"): another sender may take it again only once
    # this claim has expired (messaging.services.CLAIM_EXPIRES).
    claimed_at = models.DateTimeField(_("开始发送时间"), null=True, blank=True)
    # Template parameters that must not stay in the outbox once the message is sent (a
    # survey link's token): their values are blanked in the parameters and the body.
    secret_params = models.JSONField(default=list, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    provider_message_id = models.CharField(_("服务商消息编号"), max_length=100, blank=True)
    # The channel that actually delivered it: ``channel`` is the one asked for; a WeChat
    # message WeChat refused (not a follower…) goes by SMS (messaging.services).
    delivered_channel = models.CharField(
        _("实际发送渠道"), max_length=10, choices=Channel, blank=True
    )
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    # Every change sets it, the outbox's UPDATEs too (the read-back API's cursor).
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose", "recipient", "object_key"],
                name="message_unique_purpose_recipient_object",
            )
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="message_due_idx"),
            models.Index(fields=["updated_at", "id"], name="message_updated_idx"),
            # The period's maintenance reminders by channel (reports: bringing the car back).
            models.Index(
                fields=["created_at"],
                condition=Q(purpose="maintenance_reminder"),
                name="message_reminder_idx",
            ),
        ]
        permissions = [("retry_message", _("可重发发送失败的消息"))]

    def __str__(self):
        return f"{self.purpose} → {self.masked_recipient}"

    def without_secrets(self) -> tuple[str, dict]:
        """The body and parameters with the values of ``secret_params`` blanked: what the
        outbox keeps once the message is sent, and all the API ever shows."""
        body, params = self.body, dict(self.params)
        for name in self.secret_params or ():
            value = str(params.get(name) or "")
            if value:
                body = body.replace(value, REDACTED)
                params[name] = REDACTED
        return body, params

    @property
    def masked_recipient(self) -> str:
        """For pages and the admin list: phones masked as everywhere; a WeChat OpenID or an
        e-mail address is as personal, so it is shortened too."""
        if self.channel == self.Channel.SMS:
            return mask_phone(self.recipient)
        recipient = self.recipient
        return recipient[:3] + "…" + recipient[-4:] if len(recipient) > 8 else "…"


class SmsReply(models.Model):
    """A customer's SMS reply ("上行短信") pushed by the SMS provider, recorded once per
    delivery (``dedupe_key``: providers retry), with what the shop read it as and did.
    Commands (unsubscribe, do-not-contact) are handled when they arrive; a text that is
    not a command, or from a number no customer has, waits for a person to read it."""

    class Provider(models.TextChoices):
        ALIYUN = "aliyun", _("阿里云短信")
        TENCENT = "tencent", _("腾讯云短信")

    class Interpretation(models.TextChoices):
        UNSUBSCRIBE = "unsubscribe", _("退订营销信息")
        DO_NOT_CONTACT = "do_not_contact", _("请勿联系")
        OTHER = "other", _("非指令，需人工查看")

    class Action(models.TextChoices):
        CONSENT_WITHDRAWN = "consent_withdrawn", _("已撤回营销同意")
        DO_NOT_CONTACT_SET = "do_not_contact_set", _("已设为请勿联系")
        ALREADY = "already", _("无需处理（已是该状态）")
        NONE = "none", _("未处理")

    provider = models.CharField(_("短信服务商"), max_length=10, choices=Provider)
    # sha256 of provider + the provider's id of the reply (Aliyun: sequence_id) or, when it
    # has none (Tencent), of phone + time + text: the same push delivered twice is one row.
    dedupe_key = models.CharField(max_length=64, unique=True)
    phone = models.CharField(_("手机号"), max_length=20)
    text = models.TextField(_("回复内容"))
    received_at = models.DateTimeField(_("回复时间"))
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sms_replies",
    )
    interpretation = models.CharField(_("解读"), max_length=20, choices=Interpretation)
    action = models.CharField(_("处理结果"), max_length=20, choices=Action, default=Action.NONE)
    # Set when the reply was acted on: by nobody (the command applied itself) or by the
    # member of staff who read it and marked it handled.
    handled_at = models.DateTimeField(_("处理时间"), null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("处理人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("接收时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("客户短信回复")
        verbose_name_plural = _("客户短信回复")
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(
                fields=["received_at"],
                condition=models.Q(handled_at__isnull=True),
                name="smsreply_unhandled_idx",
            ),
        ]
        permissions = [("handle_smsreply", _("可查看并处理客户短信回复"))]

    def __str__(self):
        return f"{self.provider} {self.masked_phone}"

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def needs_reading(self) -> bool:
        return self.handled_at is None
