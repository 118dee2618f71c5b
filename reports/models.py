from django.db import models
from django.utils.translation import gettext_lazy as _

from followups.models import CallAttempt, FollowUpTask
from shopcrm.triggers import for_model
from surveys.models import SurveyInvitation, SurveyResponse
from visits.models import Visit

from . import figures


class Report(models.Model):
    """No table: the holder of the reports permission (managers and token clients)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_reports", _("可查看报表和仪表盘")),
            ("view_own_scorecard", _("可查看本人的服务顾问绩效卡")),
        ]

    def __str__(self):
        return str(_("报表"))


# The figures of the advisor scorecard (METRICS.md), in its order: key, label, how it is
# shown ("count", "rate" as a percentage, "number" to one decimal).
SCORECARD_FIGURES = [
    ("visits", _("交车台次"), "count"),
    ("csi", "CSI", "number"),
    ("nps", "NPS", "number"),
    ("on_time_delivery_rate", _("按时交车率"), "rate"),
    ("fixed_first_visit_rate", _("一次修复率"), "rate"),
    ("followup_contact_rate_72h", _("三日回访率"), "rate"),
    ("complaint_rate_per_100_visits", _("投诉率（每百台次）"), "number"),
    ("estimate_accuracy_rate", _("估价准确率（±10%）"), "rate"),
    ("extra_work_approval_rate", _("增项同意率"), "rate"),
    ("delivery_checklist_rate", _("交车检查完整率"), "rate"),
    ("survey_responses", _("调查答卷数"), "count"),
]


class ScorecardTarget(models.Model):
    """The target of one figure of the advisor scorecard (METRICS.md, "Advisor scorecard"),
    in the unit the scorecard shows it: points for CSI and NPS, percent for the rates,
    complaints per 100 visits. Edited in the admin; a data migration seeds METRICS.md's
    defaults. A figure without a row has no target and is not coloured."""

    class Direction(models.TextChoices):
        AT_LEAST = "at_least", "≥"
        AT_MOST = "at_most", "≤"

    figure = models.CharField(
        _("指标"),
        max_length=40,
        unique=True,
        choices=[(key, label) for key, label, _kind in SCORECARD_FIGURES],
    )
    direction = models.CharField(
        _("方向"), max_length=8, choices=Direction.choices, default=Direction.AT_LEAST
    )
    value = models.DecimalField(_("目标值"), max_digits=7, decimal_places=2)

    class Meta:
        verbose_name = _("绩效卡目标")
        verbose_name_plural = _("绩效卡目标")
        ordering = ["figure"]

    def __str__(self):
        return f"{self.get_figure_display()} {self.get_direction_display()} {self.value}"

    def met_by(self, shown_value) -> bool:
        """Whether a figure, in the target's unit, meets it."""
        if self.direction == self.Direction.AT_LEAST:
            return shown_value >= self.value
        return shown_value <= self.value


# The summary table behind the period figures (reports.figures declares its columns, and
# reports.daily keeps it): per delivery day (the shop's calendar), advisor and service type,
# the counts and sums that METRICS.md's period rates are made of, over the visits delivered
# that day and their responses, invitations and follow-up calls. A period's figures add up its
# rows (a few thousand at most) instead of joining its visits to four other tables; triggers
# log which days a change moves, and a read brings those days up to date first. (The as-of
# figures read followups' vehicle and customer states.)


class DailyFigures(models.Model):
    day = models.DateField()
    advisor_id = models.IntegerField(null=True)
    service_type = models.CharField(max_length=12)
    # Visits delivered that day.
    visits = models.IntegerField()
    promised = models.IntegerField()  # with a promised time (a first promise)
    on_time = models.IntegerField()  # delivered by the first promise
    on_time_revised = models.IntegerField(default=0)  # delivered by the last promise
    revised = models.IntegerField(default=0)  # whose promise was revised
    checklist_complete = models.IntegerField(default=0)  # delivery checklist done in full
    by_appointment = models.IntegerField()
    repairs = models.IntegerField()  # repair and warranty visits
    came_back = models.IntegerField()  # repairs followed by a repair within 30 days
    contacted = models.IntegerField()  # reached by a post-service call within 72 hours
    # Their survey responses and invitations.
    responses = models.IntegerField()
    csi_count = models.IntegerField()
    csi_sum = models.FloatField()
    alerts = models.IntegerField()
    promoters = models.IntegerField()
    detractors = models.IntegerField()
    nps_answered = models.IntegerField()
    # Per SERVQUAL dimension (surveys.models.Dimension): the answers and their sum.
    reliability_count = models.IntegerField()
    reliability_sum = models.FloatField()
    responsiveness_count = models.IntegerField()
    responsiveness_sum = models.FloatField()
    assurance_count = models.IntegerField()
    assurance_sum = models.FloatField()
    empathy_count = models.IntegerField()
    empathy_sum = models.FloatField()
    tangibles_count = models.IntegerField()
    tangibles_sum = models.FloatField()
    invitations_sent = models.IntegerField()
    invitations_completed = models.IntegerField()
    # Their post-service follow-up calls (the dashboard's funnel): made, dialled, reached.
    followup_tasks = models.IntegerField(default=0)
    followup_dialled = models.IntegerField(default=0)
    followup_reached = models.IntegerField(default=0)
    # The key drivers, per SERVQUAL dimension over the responses with both its points (y) and
    # an NPS answer (x): n, Σx, Σx², Σy, Σy², Σxy, of which Pearson's r for any period.
    reliability_pairs = models.IntegerField(default=0)
    reliability_pairs_nps = models.FloatField(default=0)
    reliability_pairs_nps_squares = models.FloatField(default=0)
    reliability_pairs_points = models.FloatField(default=0)
    reliability_pairs_points_squares = models.FloatField(default=0)
    reliability_pairs_products = models.FloatField(default=0)
    responsiveness_pairs = models.IntegerField(default=0)
    responsiveness_pairs_nps = models.FloatField(default=0)
    responsiveness_pairs_nps_squares = models.FloatField(default=0)
    responsiveness_pairs_points = models.FloatField(default=0)
    responsiveness_pairs_points_squares = models.FloatField(default=0)
    responsiveness_pairs_products = models.FloatField(default=0)
    assurance_pairs = models.IntegerField(default=0)
    assurance_pairs_nps = models.FloatField(default=0)
    assurance_pairs_nps_squares = models.FloatField(default=0)
    assurance_pairs_points = models.FloatField(default=0)
    assurance_pairs_points_squares = models.FloatField(default=0)
    assurance_pairs_products = models.FloatField(default=0)
    empathy_pairs = models.IntegerField(default=0)
    empathy_pairs_nps = models.FloatField(default=0)
    empathy_pairs_nps_squares = models.FloatField(default=0)
    empathy_pairs_points = models.FloatField(default=0)
    empathy_pairs_points_squares = models.FloatField(default=0)
    empathy_pairs_products = models.FloatField(default=0)
    tangibles_pairs = models.IntegerField(default=0)
    tangibles_pairs_nps = models.FloatField(default=0)
    tangibles_pairs_nps_squares = models.FloatField(default=0)
    tangibles_pairs_points = models.FloatField(default=0)
    tangibles_pairs_points_squares = models.FloatField(default=0)
    tangibles_pairs_products = models.FloatField(default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="dailyfigures_day_idx")]

    def __str__(self):
        return f"{self.day} {self.advisor_id} {self.service_type}: {self.visits} visits"


class DayChange(models.Model):
    """Written by triggers on visits, responses, invitations, follow-up tasks and calls: the
    delivery time of a visit whose day's figures to redo. Null: redo every day."""

    id = models.BigAutoField(primary_key=True)
    delivered_at = models.DateTimeField(null=True)

    def __str__(self):
        return f"change {self.pk}: {self.delivered_at}"


# The change-logging triggers (reports.figures.declare_triggers) live on proxies of the
# watched models, so those apps never know about them; this app's migrations create them.
DAY_TRIGGERS = figures.declare_triggers(log=DayChange)


class VisitDayLog(Visit):
    class Meta:
        proxy = True
        default_permissions = ()
        triggers = for_model(DAY_TRIGGERS, Visit)


class ResponseDayLog(SurveyResponse):
    class Meta:
        proxy = True
        default_permissions = ()
        triggers = for_model(DAY_TRIGGERS, SurveyResponse)


class InvitationDayLog(SurveyInvitation):
    class Meta:
        proxy = True
        default_permissions = ()
        triggers = for_model(DAY_TRIGGERS, SurveyInvitation)


class TaskDayLog(FollowUpTask):
    class Meta:
        proxy = True
        default_permissions = ()
        triggers = for_model(DAY_TRIGGERS, FollowUpTask)


class CallDayLog(CallAttempt):
    class Meta:
        proxy = True
        default_permissions = ()
        triggers = for_model(DAY_TRIGGERS, CallAttempt)


DAY_LOG_PROXIES = (VisitDayLog, ResponseDayLog, InvitationDayLog, TaskDayLog, CallDayLog)
