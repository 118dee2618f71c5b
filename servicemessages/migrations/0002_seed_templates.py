"""The service messages' first texts, in Chinese and English (an administrator edits them in
the admin, with the SMS provider's template codes, which each shop registers itself)."""

from django.db import migrations

TEXTS = {
    "service_checked_in": (
        "您的爱车（{plate}）已接车，工单号 {ro_number}。服务顾问 {advisor}，电话 {advisor_phone}，"
        "预计 {promised_at} 交车。{link}",
        "Your car ({plate}) is checked in, repair order {ro_number}. Your service advisor is "
        "{advisor}, phone {advisor_phone}; we expect to hand it back at {promised_at}. {link}",
    ),
    "service_promise_revised": (
        "您的爱车（{plate}，工单 {ro_number}）预计交车时间改为 {promised_at}，原因：{reason}。"
        "给您带来不便，敬请谅解。",
        "The expected hand-back time of your car ({plate}, repair order {ro_number}) is now "
        "{promised_at}. Reason: {reason}. We apologise for the inconvenience.",
    ),
    "service_ready": (
        "您的爱车（{plate}，工单 {ro_number}）已完工，可以取车了。应付金额 {amount} 元。",
        "Your car ({plate}, repair order {ro_number}) is ready for collection. Amount due: "
        "CNY {amount}.",
    ),
    "service_delivered": (
        "电子结算单：工单 {ro_number}（{plate}），工时费 {labour} 元，材料费 {parts} 元，"
        "合计 {total} 元。建议下次保养日期：{next_service}。感谢您的光临！",
        "e-RO: repair order {ro_number} ({plate}), labour CNY {labour}, parts CNY {parts}, "
        "total CNY {total}. Suggested next service: {next_service}. Thank you for your visit!",
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
    dependencies = [("servicemessages", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
