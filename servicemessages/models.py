"""Service messages about a visit (issue 17): the texts per event and language, editable by
an administrator, and the advisor's work phone the check-in message gives the customer."""

import string

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from messaging.models import Message


class Event(models.TextChoices):
    """The visit events with a service message; each is one outbox purpose."""

    CHECKED_IN = Message.Purpose.SERVICE_CHECKED_IN.value, _("接车确认")
    PROMISE_REVISED = Message.Purpose.SERVICE_PROMISE_REVISED.value, _("交车时间变更")
    READY = Message.Purpose.SERVICE_READY.value, _("可以取车")
    DELIVERED = Message.Purpose.SERVICE_DELIVERED.value, _("电子结算单")
    EXTRA_WORK = Message.Purpose.SERVICE_EXTRA_WORK.value, _("增项待确认")
    # About an appointment, not a visit (issue 18: online booking).
    BOOKING_CONFIRMED = Message.Purpose.BOOKING_CONFIRMED.value, _("预约确认")
    BOOKING_REMINDER = Message.Purpose.BOOKING_REMINDER.value, _("预约提醒")


# The parameters each event's text may use ({name} in the text; the SMS template gets them
# all, in this order).
PARAMETERS = {
    Event.CHECKED_IN: ("ro_number", "plate", "advisor", "advisor_phone", "promised_at", "link"),
    Event.PROMISE_REVISED: ("ro_number", "plate", "promised_at", "reason"),
    Event.READY: ("ro_number", "plate", "amount"),
    Event.DELIVERED: ("ro_number", "plate", "labour", "parts", "total", "next_service"),
    Event.EXTRA_WORK: ("ro_number", "plate", "item", "amount", "urgency", "link"),
    Event.BOOKING_CONFIRMED: ("plate", "scheduled_at", "service_type", "link"),
    Event.BOOKING_REMINDER: ("plate", "scheduled_at", "service_type", "link"),
}


class MessageTemplate(models.Model):
    event = models.CharField(_("事件"), max_length=40, choices=Event)
    language = models.CharField(_("语言"), max_length=10, choices=Customer.Language)
    body = models.TextField(
        _("短信/微信内容"),
        help_text=_("可用参数写作 {ro_number} 这样的形式，每个事件可用的参数见下方说明。"),
    )
    sms_template_code = models.CharField(
        _("短信服务商模板编号"), max_length=40, blank=True, help_text=_("如阿里云的 SMS_123456789")
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("通知模板")
        verbose_name_plural = _("通知模板")
        ordering = ["event", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "language"], name="service_template_unique_event_language"
            )
        ]

    def __str__(self):
        return f"{self.get_event_display()} ({self.language})"

    def clean(self):
        allowed = set(PARAMETERS.get(self.event, ()))
        try:
            used = {name for _text, name, _spec, _conv in string.Formatter().parse(self.body)}
        except ValueError as exc:
            raise ValidationError({"body": _("花括号不成对：%(error)s") % {"error": exc}}) from exc
        unknown = sorted(name for name in used - {None} if name not in allowed)
        if unknown:
            raise ValidationError(
                {
                    "body": _("未知参数：%(names)s。可用：%(allowed)s")
                    % {"names": ", ".join(unknown), "allowed": ", ".join(sorted(allowed))}
                }
            )

    def render(self, params: dict) -> str:
        """The text with the parameters filled in (an unknown one, saved past the check by
        other means, is left empty rather than failing the message)."""
        return self.body.format_map(_Blank(params))


class _Blank(dict):
    def __missing__(self, key):
        return ""


class WorkPhone(models.Model):
    """A member of staff's work phone, the number a customer may call (the advisor's, in
    the check-in message). Edited on the user's page in the admin."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("员工"),
        on_delete=models.CASCADE,
        related_name="work_phone",
    )
    phone = models.CharField(_("工作电话"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("工作电话")
        verbose_name_plural = _("工作电话")

    def __str__(self):
        return self.phone
