"""The online booking's confirmation and day-before reminder texts (issue 18)."""

from django.db import migrations

TEXTS = {
    "booking_confirmed": (
        "预约成功：{plate}，{scheduled_at}，{service_type}。如需改期或取消，请点击：{link}",
        "Booked: {plate}, {scheduled_at}, {service_type}. To reschedule or cancel: {link}",
    ),
    "booking_reminder": (
        "温馨提醒：您预约了明天 {scheduled_at} 到店（{plate}，{service_type}）。"
        "如需改期或取消，请点击：{link}",
        "Reminder: your appointment is tomorrow at {scheduled_at} ({plate}, {service_type}). "
        "To reschedule or cancel: {link}",
    ),
}


def seed(apps, schema_editor):
    MessageTemplate = apps.get_model("servicemessages", "MessageTemplate")
    for event, (chinese, english) in TEXTS.items():
        for language, body in (("zh-hans", chinese), ("en", english)):
            MessageTemplate.objects.get_or_create(
                event=event, language=language, defaults={"body": body}
            )


class Migration(migrations.Migration):
    dependencies = [("servicemessages", "0005_booking_events")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
