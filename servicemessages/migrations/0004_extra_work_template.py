"""The "extra work waiting for your answer" message's first texts (issue 17)."""

from django.db import migrations

CHINESE = (
    "您的爱车（{plate}，工单 {ro_number}）检查发现：{item}（{urgency}），预估 {amount} 元。"
    "请点击查看照片并确认是否维修：{link}"
)
ENGLISH = (
    "While servicing your car ({plate}, repair order {ro_number}) we found: {item} "
    "({urgency}), estimate CNY {amount}. See the photos and tell us whether to do it: {link}"
)


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("servicemessages", "MessageTemplate")
    for language, body in (("zh-hans", CHINESE), ("en", ENGLISH)):
        MessageTemplate.objects.get_or_create(
            event="service_extra_work", language=language, defaults={"body": body}
        )


class Migration(migrations.Migration):
    dependencies = [("servicemessages", "0003_alter_messagetemplate_event")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
