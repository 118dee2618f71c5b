"""Each message records which contact rule it is held to (checked again when it is sent);
the messages already queued get the rule their purpose had."""

from django.db import migrations, models

KNOWN = {
    "maintenance_reminder": "marketing",
    "win_back": "marketing",
    "survey_invitation": "survey",
    "survey_reminder": "survey",
}


def backfill(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    for purpose, contact_purpose in KNOWN.items():
        Message.objects.filter(purpose=purpose).update(contact_purpose=contact_purpose)


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="message",
            name="contact_purpose",
            field=models.CharField(
                choices=[
                    ("call", "回访电话"),
                    ("service", "服务通知"),
                    ("survey", "满意度调查"),
                    ("marketing", "保养提醒与营销"),
                ],
                default="service",
                max_length=10,
                verbose_name="联系类别",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
