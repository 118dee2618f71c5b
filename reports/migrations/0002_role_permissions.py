"""Managers read the reports and the dashboard."""

from django.db import migrations

from shopcrm.roles import create_permissions_now, grant_role_permissions


def grant(apps, schema_editor):
    create_permissions_now(apps)
    grant_role_permissions(apps)


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial"), ("complaints", "0002_role_permissions")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
