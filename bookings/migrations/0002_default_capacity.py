"""A fresh shop takes bookings at once: the default capacity (the shop calendar's work days
and hours, one-hour slots, 3 cars a slot, 2 hours' lead, 60 days ahead), maintenance 3 and
repair 2 cars a slot; and the administrator role gets the new permissions."""

from django.db import migrations

from shopcrm.roles import create_permissions_now, grant_role_permissions


def create_default(apps, schema_editor):
    BookingCapacity = apps.get_model("bookings", "BookingCapacity")
    ServiceTypeLimit = apps.get_model("bookings", "ServiceTypeLimit")
    BookingCapacity.objects.get_or_create(pk=1)
    for service_type, cars in (("maintenance", 3), ("repair", 2)):
        ServiceTypeLimit.objects.get_or_create(
            service_type=service_type, defaults={"cars_per_slot": cars}
        )
    create_permissions_now(apps)
    grant_role_permissions(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("bookings", "0001_booking_capacity"),
        ("shopcrm", "0001_roles"),
    ]
    operations = [migrations.RunPython(create_default, migrations.RunPython.noop)]
