from django.db import models
from django.utils.translation import gettext_lazy as _


class Report(models.Model):
    """No table: the holder of the reports permission (managers and token clients)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_reports", _("可查看报表和仪表盘"))]

    def __str__(self):
        return str(_("报表"))


# The summary tables behind the as-of figures (churn, at risk, retention, segments). Each row
# is a vehicle's or a customer's standing from one visit day (``last_day``) up to the next
# (``next_day``, exclusive; null while it is the latest), so a figure "as of T" reads the one
# row per vehicle or customer with last_day <= T < next_day instead of the whole visit
# history. Database triggers log every change that moves them (reports/states.py); a read
# brings them up to date first, so they are never stale. Plain ids, no foreign keys: the rows
# are derived and are rebuilt, never edited.


class VehicleState(models.Model):
    vehicle_id = models.BigIntegerField()
    customer_id = models.BigIntegerField()  # the customer of that visit
    last_day = models.DateField()
    next_day = models.DateField(null=True)
    visit_count = models.IntegerField()  # delivered visits up to and including last_day
    odometer_km = models.IntegerField(null=True)
    registration_date = models.DateField(null=True)
    avg_daily_km = models.FloatField(null=True)
    due_day = models.DateField()  # predicted next service (the follow-up policy's intervals)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vehicle_id", "last_day"], name="vehiclestate_once")
        ]
        indexes = [
            models.Index(fields=["next_day", "last_day"], name="vehiclestate_asof_idx"),
            models.Index(fields=["customer_id", "due_day"], name="vehiclestate_customer_idx"),
        ]

    def __str__(self):
        return f"vehicle {self.vehicle_id} from {self.last_day}"


class CustomerState(models.Model):
    customer_id = models.BigIntegerField()
    last_day = models.DateField()
    next_day = models.DateField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer_id", "last_day"], name="customerstate_once")
        ]
        indexes = [
            models.Index(fields=["next_day", "last_day"], name="customerstate_asof_idx"),
            models.Index(fields=["last_day"], name="customerstate_day_idx"),
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


# The summary table behind the period figures (reports/daily.py): per delivery day (the
# shop's calendar), advisor and service type, the counts and sums that METRICS.md's period
# rates are made of, over the visits delivered that day and their responses, invitations
# and follow-up calls. A period's figures add up its rows (a few thousand at most) instead of
# joining its visits to four other tables; triggers log which days a change moves, and a read
# brings those days up to date first.


class DailyFigures(models.Model):
    day = models.DateField()
    advisor_id = models.IntegerField(null=True)
    service_type = models.CharField(max_length=12)
    # Visits delivered that day.
    visits = models.IntegerField()
    promised = models.IntegerField()  # with a promised time
    on_time = models.IntegerField()  # delivered by it
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
