"""Give the roles the API permissions (dms_client: sync and read-back; admin: all)."""

from django.db import migrations

from shopcrm.roles import create_permissions_now, grant_role_permissions


def grant(apps, schema_editor):
    create_permissions_now(apps)
    grant_role_permissions(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("shopcrm", "0001_roles"),
        ("authtoken", "0004_alter_tokenproxy_options"),
    ]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
