"""Managers read the outbox back through the API (issue 17): messaging.view_message."""

from django.db import migrations

from shopcrm.roles import create_permissions_now, grant_role_permissions


def grant(apps, schema_editor):
    create_permissions_now(apps)
    grant_role_permissions(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_message_visit_updated_at"),
        ("shopcrm", "0001_roles"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
