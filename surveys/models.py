from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from shopcrm.constraints import ConstraintErrorsOnFields


class Dimension(models.TextChoices):
    RELIABILITY = "reliability", _("可靠性")
    RESPONSIVENESS = "responsiveness", _("响应性")
    ASSURANCE = "assurance", _("专业性")
    EMPATHY = "empathy", _("移情性")
    TANGIBLES = "tangibles", _("有形性")


class Channel(models.TextChoices):
    SMS = "sms", _("短信")
    WECHAT = "wechat", _("微信")
    EMAIL = "email", _("电子邮件")
    PHONE = "phone", _("电话")
    WEB = "web", _("网页")
    IMPORT = "import", _("导入")


class SurveyPolicy(models.Model):
    """When invitations go out and what the manager is warned about (one row)."""

    invitation_delay_hours = models.PositiveSmallIntegerField(
        _("交车后多久发送邀请（小时）"), default=24
    )
    reminder_after_days = models.PositiveSmallIntegerField(_("未作答多少天后提醒一次"), default=3)
    expiry_days = models.PositiveSmallIntegerField(_("链接有效期（天）"), default=14)
    quick_seconds = models.PositiveSmallIntegerField(
        _("作答过快（秒）"), default=20, help_text=_("网页问卷用时少于此数的答卷会被标记")
    )
    top_marks_margin = models.DecimalField(
        _("满分率高出全店多少算异常"),
        max_digits=3,
        decimal_places=2,
        default=0.25,
        help_text=_("如 0.25：某顾问的全满分答卷比例比全店高出 25 个百分点以上"),
    )
    top_marks_min_responses = models.PositiveSmallIntegerField(
        _("满分异常至少需要的答卷数"), default=10
    )

    class Meta:
        verbose_name = _("调查规则")
        verbose_name_plural = _("调查规则")

    def __str__(self):
        return str(_("调查规则"))

    @classmethod
    def current(cls) -> "SurveyPolicy":
        policy, _created = cls.objects.get_or_create(pk=1)
        return policy


class SurveyTemplate(models.Model):
    """A questionnaire version. A version that has answers is never edited: the
    administrator makes a new version, and answers keep the version they were given on."""

    code = models.SlugField(_("代码"), max_length=40)
    version = models.PositiveSmallIntegerField(_("版本"), default=1)
    name = models.CharField(_("名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=100, blank=True)
    is_default = models.BooleanField(_("默认问卷"), default=False)
    point_map = models.JSONField(
        _("5 分制得分"),
        default=dict,
        blank=True,
        help_text=_('留空为 {"1": 0, "2": 20, "3": 40, "4": 60, "5": 100}'),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("问卷")
        verbose_name_plural = _("问卷")
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="survey_template_version"),
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_template"
            ),
        ]

    def __str__(self):
        return f"{self.display_name} v{self.version}"

    @property
    def display_name(self) -> str:
        return self.name_en if get_language() == "en" and self.name_en else self.name


class Question(ConstraintErrorsOnFields, models.Model):
    constraint_fields = {"only_scale_has_dimension": "dimension"}

    class Kind(models.TextChoices):
        SCALE = "scale", _("5 分满意度")
        NPS = "nps", _("0–10 推荐意愿")
        YES_NO = "yes_no", _("是/否")
        CHOICE = "choice", _("单选")
        TEXT = "text", _("文字")

    template = models.ForeignKey(
        SurveyTemplate, verbose_name=_("问卷"), on_delete=models.CASCADE, related_name="questions"
    )
    code = models.SlugField(_("代码"), max_length=40)
    text = models.CharField(_("题目"), max_length=200)
    text_en = models.CharField(_("英文题目"), max_length=200, blank=True)
    kind = models.CharField(_("题型"), max_length=10, choices=Kind)
    dimension = models.CharField(_("SERVQUAL 维度"), max_length=16, choices=Dimension, blank=True)
    order = models.PositiveSmallIntegerField(_("顺序"), default=0)
    required = models.BooleanField(_("必答"), default=True)
    in_short_form = models.BooleanField(
        _("电话回访简版"), default=False, help_text=_("三日回访电话中由专员询问")
    )
    choices = models.JSONField(_("选项"), default=list, blank=True)

    class Meta:
        verbose_name = _("题目")
        verbose_name_plural = _("题目")
        ordering = ["template", "order", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["template", "code"], name="question_code_per_template"),
            models.CheckConstraint(
                condition=Q(kind="scale") | Q(dimension=""),
                name="only_scale_has_dimension",
                violation_error_code="only_scale_has_dimension",
                violation_error_message=_("只有评分题可以归入 SERVQUAL 维度。"),
            ),
        ]

    def __str__(self):
        return f"{self.code}: {self.text}"

    @property
    def label(self) -> str:
        return self.text_en if get_language() == "en" and self.text_en else self.text


class SurveyInvitation(models.Model):
    """One per visit: sent after the policy's delay by the customer's channel; the link's
    token is stored only as its SHA-256."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("待发送")
        SENT = "sent", _("已发送")
        COMPLETED = "completed", _("已作答")
        EXPIRED = "expired", _("已过期")
        SKIPPED = "skipped", _("不发送")
        # Its message gave up (e.g. the number is out of service): not counted as sent
        # until a manager's retry gets it out.
        UNDELIVERED = "undelivered", _("未送达")

    visit = models.OneToOneField(
        "visits.Visit",
        verbose_name=_("工单"),
        on_delete=models.PROTECT,
        related_name="survey_invitation",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        related_name="survey_invitations",
    )
    template = models.ForeignKey(SurveyTemplate, verbose_name=_("问卷"), on_delete=models.PROTECT)
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel)
    status = models.CharField(_("状态"), max_length=12, choices=Status, default=Status.SCHEDULED)
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    reminder_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    due_at = models.DateTimeField(_("计划发送时间"))
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("提醒时间"), null=True, blank=True)
    opened_at = models.DateTimeField(_("打开时间"), null=True, blank=True)
    completed_at = models.DateTimeField(_("作答时间"), null=True, blank=True)
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    skip_reason = models.CharField(_("不发送原因"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("调查邀请")
        verbose_name_plural = _("调查邀请")
        ordering = ["-due_at"]
        indexes = [
            models.Index(
                fields=["due_at"], condition=Q(status="scheduled"), name="invitation_due_idx"
            ),
            models.Index(
                fields=["sent_at"], condition=Q(status="sent"), name="invitation_sent_idx"
            ),
        ]

    def __str__(self):
        return f"{self.visit_id} {self.get_status_display()}"


class SurveyResponse(models.Model):
    """Answers to one template for one visit, scored on save (METRICS.md)."""

    class NpsClass(models.TextChoices):
        PROMOTER = "promoter", _("推荐者")
        PASSIVE = "passive", _("中立者")
        DETRACTOR = "detractor", _("贬损者")

    template = models.ForeignKey(SurveyTemplate, verbose_name=_("问卷"), on_delete=models.PROTECT)
    visit = models.ForeignKey(
        "visits.Visit",
        verbose_name=_("工单"),
        on_delete=models.PROTECT,
        related_name="survey_responses",
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        related_name="survey_responses",
    )
    invitation = models.OneToOneField(
        SurveyInvitation,
        verbose_name=_("邀请"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="response",
    )
    follow_up_task = models.OneToOneField(
        "followups.FollowUpTask",
        verbose_name=_("回访任务"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="survey_response",
    )
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel)
    external_id = models.CharField(_("外部编号"), max_length=64, null=True, blank=True)
    submitted_at = models.DateTimeField(_("作答时间"))
    duration_seconds = models.PositiveIntegerField(_("用时（秒）"), null=True, blank=True)
    csi = models.FloatField(_("CSI"), null=True, blank=True)
    dimension_scores = models.JSONField(_("维度得分"), default=dict, blank=True)
    nps_score = models.PositiveSmallIntegerField(_("推荐意愿"), null=True, blank=True)
    nps_class = models.CharField(_("NPS 分类"), max_length=10, choices=NpsClass, blank=True)
    is_alert = models.BooleanField(_("预警"), default=False)
    all_top_marks = models.BooleanField(_("全部满分"), default=False)
    completed_quickly = models.BooleanField(_("作答过快"), default=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("记录人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("调查答卷")
        verbose_name_plural = _("调查答卷")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=Q(external_id__isnull=False),
                name="survey_response_external_id",
            ),
        ]
        indexes = [
            models.Index(fields=["updated_at", "id"], name="survey_response_updated_idx"),
        ]
        permissions = [("export_surveyresponse", _("可导出调查答卷"))]

    def __str__(self):
        return f"{self.visit_id} CSI {self.csi}"


class Answer(models.Model):
    response = models.ForeignKey(
        SurveyResponse, verbose_name=_("答卷"), on_delete=models.CASCADE, related_name="answers"
    )
    question = models.ForeignKey(Question, verbose_name=_("题目"), on_delete=models.PROTECT)
    value = models.SmallIntegerField(_("分值"), null=True, blank=True)
    text = models.TextField(_("文字"), blank=True)
    points = models.FloatField(_("得分"), null=True, blank=True)

    class Meta:
        verbose_name = _("回答")
        verbose_name_plural = _("回答")
        ordering = ["question__order"]
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="one_answer_per_question")
        ]

    def __str__(self):
        return f"{self.question.code}={self.value if self.value is not None else self.text}"

    @property
    def is_low(self) -> bool:
        """A low score (surveys.scoring.is_low), shown in red to the agent and the manager."""
        from .scoring import is_low

        return is_low(self.question.kind, self.value)
