"""The customer's online booking (issue 18): the one-time codes that prove the mobile number,
and the links in the booking messages that reschedule or cancel."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class BookingCode(models.Model):
    """One SMS code asked for on the booking page: only its HMAC is kept, it expires after
    CODE_MINUTES and takes at most MAX_TRIES tries. The rows also count the requests per
    number and per address (the rate limits), and are deleted after a day."""

    phone = models.CharField(_("手机号"), max_length=20)  # E.164
    plate = models.CharField(_("车牌号"), max_length=10, blank=True)
    # The number's customer when there is one (so erasure finds the row), and the car of a
    # reminder's booking link.
    customer = models.ForeignKey(
        "customers.Customer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    vehicle = models.ForeignKey(
        "customers.Vehicle", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    code_hash = models.CharField(max_length=64)
    # The client's address, hashed with the secret key: counted, never shown.
    address_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(_("发送时间"), default=timezone.now)
    expires_at = models.DateTimeField(_("失效时间"))
    attempts = models.PositiveSmallIntegerField(_("已尝试次数"), default=0)
    verified_at = models.DateTimeField(_("验证时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("预约验证码")
        verbose_name_plural = _("预约验证码")
        indexes = [
            models.Index(fields=["phone", "created_at"], name="bookingcode_phone_idx"),
            models.Index(fields=["address_hash", "created_at"], name="bookingcode_address_idx"),
            models.Index(fields=["created_at"], name="bookingcode_created_idx"),
        ]

    def __str__(self):
        return f"{self.pk} {self.created_at:%Y-%m-%d %H:%M}"


class ManageLink(models.Model):
    """A link to reschedule or cancel an appointment (/book/m/<token>/), one per message or
    page that carries it: 192 random bits, only their SHA-256 kept (shopcrm.tokens)."""

    appointment = models.ForeignKey(
        "visits.Appointment", on_delete=models.CASCADE, related_name="manage_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("预约管理链接")
        verbose_name_plural = _("预约管理链接")

    def __str__(self):
        return f"{self.appointment_id}"
