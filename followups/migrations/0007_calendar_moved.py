"""Holidays and the calling hours moved to the shop calendar (shopcalendar 0001 took the
table and copied the hours)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("followups", "0006_task_vehicle_unindexed"),
        ("shopcalendar", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Holiday")]),
        migrations.RemoveConstraint(model_name="followuppolicy", name="policy_calling_hours_order"),
        migrations.RemoveField(model_name="followuppolicy", name="calling_start"),
        migrations.RemoveField(model_name="followuppolicy", name="calling_end"),
    ]
