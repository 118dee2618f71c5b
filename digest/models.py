"""The morning digest (issue 19): yesterday in one screen, once per (recipient, day)."""

import datetime

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class DigestPolicy(models.Model):
    """When the digest goes out and to whom (one row, edited by an administrator; a data
    migration seeds it)."""

    send_at = models.TimeField(
        _("每日发送时间"), default=datetime.time(8, 0), help_text=_("门店时间；此前不生成晨报")
    )
    to_managers = models.BooleanField(_("发给售后经理"), default=True)
    to_advisors = models.BooleanField(_("发给服务顾问"), default=True)

    class Meta:
        verbose_name = _("晨报设置")
        verbose_name_plural = _("晨报设置")

    def __str__(self):
        return str(_("晨报设置"))

    @classmethod
    def current(cls) -> "DigestPolicy":
        policy, _created = cls.objects.get_or_create(pk=1)
        return policy


class Digest(models.Model):
    """That ``recipient`` has the digest of ``day``. The figures are read from the records
    when the page or the e-mail is made (nothing personal is copied here). ``enqueued_at``:
    when its e-mail went into the outbox (or was found to need none); a sweep sends any
    digest still without it."""

    class Scope(models.TextChoices):
        SHOP = "shop", _("全店")
        ADVISOR = "advisor", _("本人")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("接收人"),
        on_delete=models.CASCADE,
        related_name="digests",
    )
    day = models.DateField(_("日期"))
    scope = models.CharField(_("晨报范围"), max_length=10, choices=Scope)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    enqueued_at = models.DateTimeField(_("邮件入队时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("晨报")
        verbose_name_plural = _("晨报")
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "day"], name="digest_once_per_day")
        ]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(enqueued_at__isnull=True),
                name="digest_not_enqueued_idx",
            )
        ]

    def __str__(self):
        return f"{self.recipient_id} {self.day}"


class DigestReader(models.Model):
    """The language a member of staff reads the digest in: the one they last opened the
    digest page in (the shop's language until then). Staff have no other language setting."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("用户"),
        on_delete=models.CASCADE,
        related_name="+",
        primary_key=True,
    )
    language = models.CharField(_("语言"), max_length=10, choices=settings.LANGUAGES)

    class Meta:
        verbose_name = _("晨报语言")
        verbose_name_plural = _("晨报语言")

    def __str__(self):
        return f"{self.user_id} {self.language}"
