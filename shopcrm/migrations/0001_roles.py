"""Create the role groups (advisor, agent, manager, admin, dms_client) with permissions."""

from django.db import migrations

from shopcrm.roles import create_permissions_now, sync_roles


def create_roles(apps, schema_editor):
    create_permissions_now(apps)
    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0002_name_prefix_index"),
        ("visits", "0001_initial"),
    ]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
