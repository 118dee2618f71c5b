"""Complaint callbacks are handed out before service-recovery calls (followups.rules.PRIORITY,
issue 16): the calls already planned take the new priority."""

from django.db import migrations

COMPLAINT_CALLBACK_PRIORITY = 5  # followups.rules.PRIORITY at the time of this migration


def reprioritise(apps, schema_editor):
    FollowUpTask = apps.get_model("followups", "FollowUpTask")
    FollowUpTask.objects.filter(
        kind="complaint_callback", status__in=["pending", "claimed"]
    ).update(priority=COMPLAINT_CALLBACK_PRIORITY)


class Migration(migrations.Migration):
    dependencies = [("followups", "0009_constraint_messages")]
    operations = [migrations.RunPython(reprioritise, migrations.RunPython.noop)]
