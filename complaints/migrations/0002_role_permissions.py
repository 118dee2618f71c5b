"""Give the roles the complaint permissions (everyone at the desk and on the phone takes
complaints; managers manage and export them; the DMS client creates them for the hotline)."""

from django.db import migrations

from shopcrm.roles import create_permissions_now, grant_role_permissions


def grant(apps, schema_editor):
    create_permissions_now(apps)
    grant_role_permissions(apps)


class Migration(migrations.Migration):
    dependencies = [("complaints", "0001_initial"), ("surveys", "0002_default_csi_template")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
