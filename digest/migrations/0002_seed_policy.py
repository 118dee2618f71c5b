import datetime

from django.db import migrations


def seed(apps, schema_editor):
    DigestPolicy = apps.get_model("digest", "DigestPolicy")
    DigestPolicy.objects.get_or_create(
        pk=1, defaults={"send_at": datetime.time(8, 0), "to_managers": True, "to_advisors": True}
    )


class Migration(migrations.Migration):
    dependencies = [("digest", "0001_digest_policy_and_digests")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
