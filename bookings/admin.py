from django.contrib import admin

from .models import BookingCapacity, ServiceTypeLimit


@admin.register(BookingCapacity)
class BookingCapacityAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "days",
        "opens_at",
        "closes_at",
        "slot_minutes",
        "cars_per_slot",
        "lead_minutes",
        "days_ahead",
    )

    def has_add_permission(self, request):
        return not BookingCapacity.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ServiceTypeLimit)
class ServiceTypeLimitAdmin(admin.ModelAdmin):
    list_display = ("service_type", "cars_per_slot")
