"""Managers create and follow the campaigns (shopcrm.roles)."""

from django.db import migrations


def grant(apps, schema_editor):
    from shopcrm.roles import create_permissions_now, grant_role_permissions

    create_permissions_now(apps)
    grant_role_permissions(apps)


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_campaigns")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
