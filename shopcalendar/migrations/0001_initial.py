"""The shop calendar: its hours (moved from the follow-up policy's calling hours and the
complaint policy's business hours, values kept) and the holidays (moved from followups,
table and rows kept)."""

import datetime

from django.db import migrations, models


def copy_hours(apps, schema_editor):
    ShopCalendar = apps.get_model("shopcalendar", "ShopCalendar")
    FollowUpPolicy = apps.get_model("followups", "FollowUpPolicy")
    ComplaintPolicy = apps.get_model("complaints", "ComplaintPolicy")
    values = {}
    follow_up = FollowUpPolicy.objects.filter(pk=1).first()
    if follow_up is not None:
        values.update(contact_start=follow_up.calling_start, contact_end=follow_up.calling_end)
    complaint = ComplaintPolicy.objects.filter(pk=1).first()
    if complaint is not None:
        values.update(
            business_start=complaint.business_start,
            business_end=complaint.business_end,
            work_days=complaint.work_days,
        )
    if values:
        ShopCalendar.objects.update_or_create(pk=1, defaults=values)


def move_holiday_content_type(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="shopcalendar", model="holiday").exists():
        ContentType.objects.filter(app_label="followups", model="holiday").update(
            app_label="shopcalendar"
        )


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("followups", "0006_task_vehicle_unindexed"),
        ("complaints", "0002_role_permissions"),
    ]

    operations = [
        migrations.CreateModel(
            name="ShopCalendar",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("business_start", models.TimeField(default=datetime.time(9, 0), verbose_name="上班时间")),
                ("business_end", models.TimeField(default=datetime.time(18, 0), verbose_name="下班时间")),
                ("work_days", models.CharField(default="12345", help_text="星期几上班：1 = 周一 … 7 = 周日，如 123456", max_length=7, verbose_name="工作日")),
                ("contact_start", models.TimeField(default=datetime.time(9, 0), help_text="回访电话、短信和微信只在这段时间内进行，其余时间为免打扰时段", verbose_name="每天开始联系客户")),
                ("contact_end", models.TimeField(default=datetime.time(20, 0), verbose_name="每天停止联系客户")),
            ],
            options={
                "verbose_name": "营业时间",
                "verbose_name_plural": "营业时间",
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("business_start__lt", models.F("business_end"))), name="calendar_business_hours_order"),
                    models.CheckConstraint(condition=models.Q(("contact_start__lt", models.F("contact_end"))), name="calendar_contact_hours_order"),
                ],
            },
        ),
        # The holidays table comes over from followups as it is, rows and all.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Holiday",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField(unique=True, verbose_name="日期")),
                        ("name", models.CharField(max_length=50, verbose_name="名称")),
                    ],
                    options={
                        "verbose_name": "休息日",
                        "verbose_name_plural": "休息日",
                        "ordering": ["day"],
                        "db_table": "followups_holiday",
                    },
                ),
            ],
        ),
        migrations.AlterModelTable(name="holiday", table=None),
        migrations.RunPython(move_holiday_content_type, migrations.RunPython.noop),
        migrations.RunPython(copy_hours, migrations.RunPython.noop),
    ]
