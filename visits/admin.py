from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from shopcrm.admin_filters import PersonListFilter, person_column

from .models import Appointment, RoNumberSequence, Visit


@admin.register(Visit)
class VisitAdmin(SimpleHistoryAdmin):
    list_display = (
        "ro_number",
        "vehicle",
        "customer",
        person_column(Visit, "advisor"),
        "service_type",
        "status",
        "checked_in_at",
        "delivered_at",
        "total_amount",
    )
    list_filter = (
        "status",
        "service_type",
        "by_appointment",
        ("advisor", PersonListFilter),
        "checked_in_at",
    )
    search_fields = (
        "ro_number",
        "external_id",
        "vehicle__plate",
        "vehicle__vin",
        "customer__name",
        "customer__phone",
    )
    raw_id_fields = ("vehicle", "customer", "appointment")
    date_hierarchy = "checked_in_at"
    list_select_related = ("vehicle", "customer", "advisor")
    readonly_fields = ("created_at", "updated_at")


@admin.register(Appointment)
class AppointmentAdmin(SimpleHistoryAdmin):
    list_display = (
        "scheduled_at",
        "vehicle",
        "customer",
        "service_type",
        "status",
        person_column(Appointment, "advisor"),
    )
    list_filter = ("status", "service_type", ("advisor", PersonListFilter), "scheduled_at")
    search_fields = ("vehicle__plate", "customer__name", "customer__phone", "external_id")
    raw_id_fields = ("vehicle", "customer")
    date_hierarchy = "scheduled_at"
    list_select_related = ("vehicle", "customer", "advisor")


@admin.register(RoNumberSequence)
class RoNumberSequenceAdmin(admin.ModelAdmin):
    list_display = ("day", "last")
    list_filter = ("day",)
    search_fields = ("day",)
