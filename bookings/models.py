"""The shop's booking capacity (one row, edited by an administrator): which days and hours
take bookings, the slot length, how many cars a slot takes overall and per service type, and
the lead time. Days and hours left blank follow the shop calendar (its work days and business
hours); the calendar's holidays always close booking."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from shopcrm.constraints import ConstraintErrorsOnFields
from visits.models import ServiceType


class BookingCapacity(ConstraintErrorsOnFields, models.Model):
    constraint_fields = {
        "booking_hours_order": "closes_at",
        "booking_slot_minutes_range": "slot_minutes",
        "booking_days_valid": "days",
    }

    days = models.CharField(
        _("接受预约的星期"),
        max_length=7,
        blank=True,
        help_text=_("星期几接受预约：1 = 周一 … 7 = 周日，如 123456；留空则按营业时间的工作日"),
    )
    opens_at = models.TimeField(
        _("第一个时段开始"), null=True, blank=True, help_text=_("留空则按营业时间的上班时间")
    )
    closes_at = models.TimeField(
        _("最后一个时段结束"), null=True, blank=True, help_text=_("留空则按营业时间的下班时间")
    )
    slot_minutes = models.PositiveSmallIntegerField(_("每个时段（分钟）"), default=60)
    cars_per_slot = models.PositiveSmallIntegerField(_("每个时段可接车辆数"), default=3)
    lead_minutes = models.PositiveIntegerField(
        _("最少提前预约（分钟）"),
        default=120,
        help_text=_("距离现在不足这么多分钟的时段不能预约"),
    )
    days_ahead = models.PositiveSmallIntegerField(
        _("最多提前预约（天）"), default=60, help_text=_("可以预约今后多少天之内的时段")
    )

    class Meta:
        verbose_name = _("预约容量")
        verbose_name_plural = _("预约容量")
        constraints = [
            models.CheckConstraint(
                condition=Q(opens_at__isnull=True)
                | Q(closes_at__isnull=True)
                | Q(opens_at__lt=models.F("closes_at")),
                name="booking_hours_order",
                violation_error_code="booking_hours_order",
                violation_error_message=_("最后一个时段的结束时间须晚于第一个时段的开始时间。"),
            ),
            models.CheckConstraint(
                condition=Q(slot_minutes__gte=10, slot_minutes__lte=480),
                name="booking_slot_minutes_range",
                violation_error_code="booking_slot_minutes_range",
                violation_error_message=_("每个时段须在 10 到 480 分钟之间。"),
            ),
            models.CheckConstraint(
                condition=Q(days__regex=r"^[1-7]*$"),
                name="booking_days_valid",
                violation_error_code="booking_days_valid",
                violation_error_message=_("星期只能填写数字 1 到 7。"),
            ),
        ]

    def __str__(self):
        return str(_("预约容量"))

    @classmethod
    def current(cls) -> "BookingCapacity":
        capacity, _created = cls.objects.get_or_create(pk=1)
        return capacity


class ServiceTypeLimit(models.Model):
    """At most ``cars_per_slot`` cars of one service type in a slot (e.g. repair 2, because
    only two bays lift); the overall limit still applies. No row: only the overall limit."""

    service_type = models.CharField(_("服务类型"), max_length=12, choices=ServiceType, unique=True)
    cars_per_slot = models.PositiveSmallIntegerField(_("每个时段最多车辆数"))

    class Meta:
        verbose_name = _("按服务类型的时段容量")
        verbose_name_plural = _("按服务类型的时段容量")
        ordering = ["service_type"]

    def __str__(self):
        return f"{self.get_service_type_display()} {self.cars_per_slot}"


class SlotLock(models.Model):
    """One row per slot start ever booked through ``services``: a booking locks its slot's
    row (SELECT … FOR UPDATE) before counting the cars in it, so concurrent bookings of one
    slot take turns and the count each sees is final (docs/decisions.md)."""

    starts_at = models.DateTimeField(_("时段开始"), unique=True)

    class Meta:
        verbose_name = _("时段锁")
        verbose_name_plural = _("时段锁")

    def __str__(self):
        return f"{self.starts_at:%Y-%m-%d %H:%M}"
