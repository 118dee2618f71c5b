"""The business hours and working days moved to the shop calendar (shopcalendar 0001
copied them)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("complaints", "0002_role_permissions"),
        ("shopcalendar", "0001_initial"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="complaintpolicy", name="complaint_policy_hours_order"),
        migrations.RemoveField(model_name="complaintpolicy", name="business_start"),
        migrations.RemoveField(model_name="complaintpolicy", name="business_end"),
        migrations.RemoveField(model_name="complaintpolicy", name="work_days"),
    ]
