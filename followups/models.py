from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from customers.models import Vehicle
from shopcrm.constraints import ConstraintErrorsOnFields
from shopcrm.triggers import for_model
from visits.models import Visit

from . import statelog


class FollowUpPolicy(ConstraintErrorsOnFields, models.Model):
    """The shop's follow-up rules, edited by an administrator (one row). When calls may be
    made is the shop calendar's contact hours (shopcalendar)."""

    constraint_fields = {"policy_at_least_one_attempt": "max_attempts"}

    post_service_delay_hours = models.PositiveSmallIntegerField(
        _("交车后多久回访（小时）"), default=24
    )
    post_service_expiry_days = models.PositiveSmallIntegerField(
        _("回访任务有效期（交车后天数）"), default=7
    )
    first_retry_hours = models.PositiveSmallIntegerField(
        _("未接通后首次重拨间隔（小时）"), default=2, help_text=_("之后每次改到下一个拨打日")
    )
    max_attempts = models.PositiveSmallIntegerField(_("最多拨打次数"), default=3)
    lease_minutes = models.PositiveSmallIntegerField(_("领取后保留时长（分钟）"), default=15)
    reminder_lead_days = models.PositiveSmallIntegerField(_("保养提醒提前天数"), default=7)
    service_interval_km = models.PositiveIntegerField(_("保养间隔（公里）"), default=5000)
    service_interval_days = models.PositiveSmallIntegerField(_("保养间隔（天）"), default=180)
    churn_days = models.PositiveSmallIntegerField(_("流失判定（天未回厂）"), default=365)
    win_back_cooldown_days = models.PositiveSmallIntegerField(
        _("同一客户召回间隔（天）"), default=90
    )
    recommendation_call_days = models.PositiveSmallIntegerField(
        _("建议项目回访间隔（天）"),
        default=30,
        help_text=_("客户拒绝或推迟的项目，过这么多天后电话提醒"),
    )
    # Issue 19: VIP customers' calls are handed out before the same kind of call for other
    # customers, never before a more urgent kind (followups.rules.priority_of).
    vip_first = models.BooleanField(
        _("VIP 客户优先"),
        default=True,
        help_text=_("VIP 客户的回访排在同类回访之前，但不会排到更紧急的回访类型之前"),
    )

    class Meta:
        verbose_name = _("回访规则")
        verbose_name_plural = _("回访规则")
        constraints = [
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1),
                name="policy_at_least_one_attempt",
                violation_error_code="policy_at_least_one_attempt",
                violation_error_message=_("最多拨打次数至少为 1。"),
            ),
        ]

    def __str__(self):
        return str(_("回访规则"))

    @classmethod
    def current(cls) -> "FollowUpPolicy":
        policy, _created = cls.objects.get_or_create(pk=1)
        return policy


class FollowUpTask(models.Model):
    class Kind(models.TextChoices):
        POST_SERVICE = "post_service", _("三日回访")
        SERVICE_RECOVERY = "service_recovery", _("服务补救回访")
        MAINTENANCE_REMINDER = "maintenance_reminder", _("保养提醒")
        WIN_BACK = "win_back", _("流失召回")
        COMPLAINT_CALLBACK = "complaint_callback", _("投诉回访")
        RECOMMENDED_WORK = "recommended_work", _("建议项目回访")
        MISSED_APPOINTMENT = "missed_appointment", _("未到店回访")
        # A manager's campaign (campaigns): marketing needs the customer's consent, a
        # vehicle recall is service information.
        CAMPAIGN = "campaign", _("活动回访")
        RECALL = "recall", _("车辆召回通知")

    class Status(models.TextChoices):
        PENDING = "pending", _("待拨打")
        CLAIMED = "claimed", _("拨打中")
        DONE = "done", _("已完成")
        FAILED = "failed", _("未成功")
        EXPIRED = "expired", _("已过期")
        CANCELLED = "cancelled", _("已取消")

    class Outcome(models.TextChoices):
        REACHED_SATISFIED = "reached_satisfied", _("已接通，满意")
        REACHED_ISSUE = "reached_issue", _("已接通，有问题")
        NO_ANSWER = "no_answer", _("无人接听")
        BUSY = "busy", _("占线")
        WRONG_NUMBER = "wrong_number", _("号码错误")
        REFUSED = "refused", _("拒绝回访/勿扰")
        CALLBACK = "callback", _("约定回拨")
        BOOKED = "booked", _("预约成功")
        # Reached, and the customer says they will not come back (with a coded reason).
        LOST = "lost", _("客户流失/不再回厂")

    class LostReason(models.TextChoices):
        """Why a customer leaves (issue 19): asked on a "lost" outcome, and on a win-back
        call reached without a booking."""

        MOVED_AWAY = "moved_away", _("搬迁/外地")
        SOLD_CAR = "sold_car", _("已卖车/换车")
        PRICE = "price", _("价格")
        STAFF_ATTITUDE = "staff_attitude", _("服务态度")
        OTHER_SHOP = "other_shop", _("去了别家")
        REPAIR_QUALITY = "repair_quality", _("维修质量")
        WAITING_TIME = "waiting_time", _("等待时间")
        OTHER = "other", _("其他")

    OPEN = (Status.PENDING, Status.CLAIMED)
    REACHED = (Outcome.REACHED_SATISFIED, Outcome.REACHED_ISSUE, Outcome.BOOKED, Outcome.LOST)
    # The calls on which the agent may book a slot (bookings), recorded as "booked".
    BOOKABLE = (
        Kind.MAINTENANCE_REMINDER,
        Kind.WIN_BACK,
        Kind.MISSED_APPOINTMENT,
        Kind.CAMPAIGN,
        Kind.RECALL,
    )
    # Calls that, like a marketing message, need the customer's marketing consent (asked
    # again as the call is handed out: followups.queue).
    NEEDS_CONSENT = (Kind.CAMPAIGN,)
    # The calls on which the agent may record the customer as lost (with a reason): the calls
    # that try to bring a car back.
    LOSABLE = BOOKABLE

    kind = models.CharField(_("类型"), max_length=24, choices=Kind)
    source_key = models.CharField(
        _("来源"), max_length=80, help_text=_("同一类型、同一来源只会有一个任务，如 visit:123")
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("客户"),
        on_delete=models.PROTECT,
        related_name="follow_up_tasks",
    )
    # No index of its own: nothing looks tasks up by vehicle (only a vehicle's deletion,
    # a rare admin act), and every claim and outcome would write an entry into it.
    vehicle = models.ForeignKey(
        "customers.Vehicle",
        verbose_name=_("车辆"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    visit = models.ForeignKey(
        "visits.Visit",
        verbose_name=_("工单"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_up_tasks",
    )
    # The appointment the call booked (outcome "booked"), or for a missed-appointment call
    # the appointment missed until the call books another. Indexed only where set: the queue
    # rewrites every row at each claim and outcome.
    appointment = models.ForeignKey(
        "visits.Appointment",
        verbose_name=_("预约"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_up_tasks",
        db_index=False,
    )
    reason = models.CharField(_("回访原因"), max_length=200, blank=True)
    priority = models.PositiveSmallIntegerField(
        _("优先级"), default=50, help_text=_("数字越小越优先")
    )
    due_at = models.DateTimeField(_("应拨时间"))
    expires_at = models.DateTimeField(_("过期时间"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("下次拨打时间"))
    status = models.CharField(_("状态"), max_length=10, choices=Status, default=Status.PENDING)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("回访专员"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="follow_up_tasks",
    )
    lease_expires_at = models.DateTimeField(_("保留到"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("已拨次数"), default=0)
    outcome = models.CharField(_("结果"), max_length=20, choices=Outcome, blank=True)
    outcome_note = models.TextField(_("备注"), blank=True)
    callback_at = models.DateTimeField(_("约定回拨时间"), null=True, blank=True)
    lost_reason = models.CharField(_("流失原因"), max_length=16, choices=LostReason, blank=True)
    lost_note = models.CharField(_("流失原因说明"), max_length=200, blank=True)
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    # The queue rewrites a task at every claim and outcome: its history table keeps only the
    # indexes its lookups need (by task, by date, by user), not one per foreign key.
    history = HistoricalRecords(
        excluded_fields=["updated_at"],
        no_db_index=["customer", "vehicle", "visit", "assigned_to", "appointment"],
    )

    class Meta:
        verbose_name = _("回访任务")
        verbose_name_plural = _("回访任务")
        ordering = ["priority", "next_attempt_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "source_key"], name="followup_unique_kind_source"
            ),
            models.CheckConstraint(
                condition=~Q(status="claimed")
                | Q(assigned_to__isnull=False, lease_expires_at__isnull=False),
                name="followup_claim_has_lease",
            ),
        ]
        # Partial indexes: a claim or an outcome moves a row in and out of them, and an index
        # whose condition the row does not meet is not written at all (the queue's hot path).
        indexes = [
            models.Index(
                fields=["priority", "next_attempt_at", "id"],
                condition=Q(status="pending"),
                name="followup_queue_idx",
            ),
            models.Index(
                fields=["assigned_to", "lease_expires_at"],
                condition=Q(status="claimed"),
                name="followup_held_idx",
            ),
            # Claimed rows are a handful (one per agent on a call): the held index above
            # serves the lease sweep and the expiry of claimed calls, and a claim writes
            # no entry into an expiry index.
            models.Index(
                fields=["expires_at"],
                condition=Q(status="pending"),
                name="followup_expiry_idx",
            ),
            models.Index(
                fields=["customer", "created_at"],
                condition=Q(kind="win_back"),
                name="followup_win_back_idx",
            ),
            models.Index(
                fields=["appointment"],
                condition=Q(appointment__isnull=False),
                name="followup_appointment_idx",
            ),
            # The reminders and win-backs of a period (reports: bringing the car back); only
            # those kinds' rows are in it, and a claim or an outcome does not touch it.
            models.Index(
                fields=["kind", "created_at"],
                condition=Q(kind__in=["maintenance_reminder", "win_back"]),
                name="followup_return_idx",
            ),
        ]
        permissions = [
            ("work_queue", _("可领取并拨打回访任务")),
            ("supervise_queue", _("可改派或取消回访任务")),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.customer}"

    @property
    def source(self):
        """What the task is about (followups.sources.Source), read from its key."""
        from .sources import Source

        return Source.parse(self.source_key)


class CallAttempt(models.Model):
    """One dial of a follow-up task."""

    task = models.ForeignKey(
        FollowUpTask,
        verbose_name=_("回访任务"),
        on_delete=models.CASCADE,
        related_name="attempts_made",
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("回访专员"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    started_at = models.DateTimeField(_("开始"))
    ended_at = models.DateTimeField(_("结束"))
    outcome = models.CharField(_("结果"), max_length=20, choices=FollowUpTask.Outcome)
    notes = models.TextField(_("备注"), blank=True)

    class Meta:
        verbose_name = _("拨打记录")
        verbose_name_plural = _("拨打记录")
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.task_id} {self.outcome}"


# ---------------------------------------------------------------- vehicle and customer states
# Each row is a vehicle's or a customer's standing from one visit day (``last_day``) up to the
# next (``next_day``, exclusive; null while it is the latest), so "as of T" reads the one row
# per vehicle or customer with last_day <= T < next_day instead of the whole visit history:
# the predicted next service the reminder sweep calls for, the last visit the win-back sweep
# and churn count from, the segments' mileage. Triggers log every change that moves them
# (followups.statelog); a read brings them up to date first (followups.states), so they are
# never stale. Plain ids, no foreign keys: the rows are derived and rebuilt, never edited.


class VehicleState(models.Model):
    vehicle_id = models.BigIntegerField()
    customer_id = models.BigIntegerField()  # the customer of that visit
    visit_id = models.BigIntegerField()  # the latest delivered visit of that day
    last_day = models.DateField()
    next_day = models.DateField(null=True)
    visit_count = models.IntegerField()  # delivered visits up to and including last_day
    odometer_km = models.IntegerField(null=True)
    registration_date = models.DateField(null=True)
    avg_daily_km = models.FloatField(null=True)
    due_day = models.DateField()  # predicted next service (the policy's intervals)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vehicle_id", "last_day"], name="fu_vehiclestate_once")
        ]
        indexes = [
            models.Index(fields=["next_day", "last_day"], name="fu_vehiclestate_asof_idx"),
            models.Index(fields=["customer_id", "due_day"], name="fu_vehiclestate_cust_idx"),
            # The reminder sweep: the latest states by predicted service day.
            models.Index(
                fields=["due_day"],
                condition=Q(next_day__isnull=True),
                name="fu_vehiclestate_due_idx",
            ),
        ]

    def __str__(self):
        return f"vehicle {self.vehicle_id} from {self.last_day}"


class CustomerState(models.Model):
    customer_id = models.BigIntegerField()
    last_day = models.DateField()
    next_day = models.DateField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer_id", "last_day"], name="fu_customerstate_once"
            )
        ]
        indexes = [
            models.Index(fields=["next_day", "last_day"], name="fu_customerstate_asof_idx"),
            models.Index(fields=["last_day"], name="fu_customerstate_day_idx"),
        ]

    def __str__(self):
        return f"customer {self.customer_id} from {self.last_day}"


class StateChange(models.Model):
    """Written by triggers on visits, vehicles and the follow-up policy: whose states to
    rebuild. Both ids null: rebuild everything (a truncate, a policy change, the first run)."""

    id = models.BigAutoField(primary_key=True)
    vehicle_id = models.BigIntegerField(null=True)
    customer_id = models.BigIntegerField(null=True)

    def __str__(self):
        return f"change {self.pk}: vehicle {self.vehicle_id}, customer {self.customer_id}"


# The change-logging triggers, declared once in followups.statelog, live on proxies of the
# watched models so that those apps never know about them; this app's migrations create them.
STATE_TRIGGERS = statelog.declare(log=StateChange, policy=FollowUpPolicy)


class VisitStateLog(Visit):
    class Meta:
        proxy = True
        default_permissions = ()
        triggers = for_model(STATE_TRIGGERS, Visit)


class VehicleStateLog(Vehicle):
    class Meta:
        proxy = True
        default_permissions = ()
        triggers = for_model(STATE_TRIGGERS, Vehicle)


class PolicyStateLog(FollowUpPolicy):
    class Meta:
        proxy = True
        default_permissions = ()
        triggers = for_model(STATE_TRIGGERS, FollowUpPolicy)


STATE_LOG_PROXIES = (VisitStateLog, VehicleStateLog, PolicyStateLog)
