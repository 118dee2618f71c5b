from datetime import time

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shopcrm.constraints import ConstraintErrorsOnFields


class ShopCalendar(ConstraintErrorsOnFields, models.Model):
    """The shop's hours (one row, edited by an administrator): when the service desk works
    (complaint deadlines count only these hours) and when customers may be contacted (calls
    and messages; the rest of the day is quiet hours). Holidays close both."""

    constraint_fields = {
        "calendar_business_hours_order": "business_end",
        "calendar_contact_hours_order": "contact_end",
    }

    business_start = models.TimeField(_("上班时间"), default=time(9, 0))
    business_end = models.TimeField(_("下班时间"), default=time(18, 0))
    work_days = models.CharField(
        _("工作日"),
        max_length=7,
        default="12345",
        help_text=_("星期几上班：1 = 周一 … 7 = 周日，如 123456"),
    )
    contact_start = models.TimeField(
        _("每天开始联系客户"),
        default=time(9, 0),
        help_text=_("回访电话、短信和微信只在这段时间内进行，其余时间为免打扰时段"),
    )
    contact_end = models.TimeField(_("每天停止联系客户"), default=time(20, 0))

    class Meta:
        verbose_name = _("营业时间")
        verbose_name_plural = _("营业时间")
        constraints = [
            models.CheckConstraint(
                condition=Q(business_start__lt=models.F("business_end")),
                name="calendar_business_hours_order",
                violation_error_code="calendar_business_hours_order",
                violation_error_message=_("营业结束时间须晚于开始时间。"),
            ),
            models.CheckConstraint(
                condition=Q(contact_start__lt=models.F("contact_end")),
                name="calendar_contact_hours_order",
                violation_error_code="calendar_contact_hours_order",
                violation_error_message=_("停止联系时间须晚于开始联系时间。"),
            ),
        ]

    def __str__(self):
        return str(_("营业时间"))

    @classmethod
    def current(cls) -> "ShopCalendar":
        calendar, _created = cls.objects.get_or_create(pk=1)
        return calendar


class Holiday(models.Model):
    """A day the shop is closed (shop holidays, Spring Festival …): no calls, no messages,
    and complaint deadlines do not run."""

    day = models.DateField(_("日期"), unique=True)
    name = models.CharField(_("名称"), max_length=50)

    class Meta:
        verbose_name = _("休息日")
        verbose_name_plural = _("休息日")
        ordering = ["day"]

    def __str__(self):
        return f"{self.day} {self.name}"
