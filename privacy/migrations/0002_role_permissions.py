"""Managers (and administrators) erase customers and export their data on request (PIPL)."""

from django.db import migrations

from shopcrm.roles import create_permissions_now, grant_role_permissions


def grant(apps, schema_editor):
    create_permissions_now(apps)
    grant_role_permissions(apps)


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial"), ("shopcrm", "0001_roles")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
