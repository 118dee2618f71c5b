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
