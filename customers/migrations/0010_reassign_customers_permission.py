"""Managers move an advisor's customers in bulk when the advisor leaves (issue 19):
customers.reassign_customers, given to the manager role."""

from django.db import migrations

from shopcrm.roles import create_permissions_now, grant_role_permissions


def grant(apps, schema_editor):
    create_permissions_now(apps)
    grant_role_permissions(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0009_advisor_and_value_tier"),
        ("shopcrm", "0001_roles"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="customer",
            options={
                "ordering": ["-created_at"],
                "permissions": [
                    ("reveal_phone", "可查看完整电话号码"),
                    ("merge_customer", "可合并重复客户"),
                    ("reassign_customers", "可批量改派客户的专属顾问"),
                ],
                "verbose_name": "客户",
                "verbose_name_plural": "客户",
            },
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
