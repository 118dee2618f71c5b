"""Managers read and handle customers' SMS replies (issue 18): messaging.handle_smsreply."""

from django.db import migrations

from shopcrm.roles import create_permissions_now, grant_role_permissions


def grant(apps, schema_editor):
    create_permissions_now(apps)
    grant_role_permissions(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0010_sms_replies"),
        ("shopcrm", "0001_roles"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
