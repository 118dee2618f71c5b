"""The default CSI template (question codes of API.md) in zh-Hans and English, and the
survey permissions for the roles."""

from django.db import migrations

from shopcrm.roles import create_permissions_now, grant_role_permissions
from surveys.defaults import ensure_default_template

def create_default_template(apps, schema_editor):
    ensure_default_template(apps.get_model("surveys", "SurveyTemplate"), apps.get_model("surveys", "Question"))


def grant(apps, schema_editor):
    create_permissions_now(apps)
    grant_role_permissions(apps)


class Migration(migrations.Migration):
    dependencies = [("surveys", "0001_initial"), ("followups", "0004_queue_index_in_claim_order")]
    operations = [
        migrations.RunPython(create_default_template, migrations.RunPython.noop),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
