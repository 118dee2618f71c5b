from django.contrib import admin

from .models import Holiday, ShopCalendar


@admin.register(ShopCalendar)
class ShopCalendarAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "business_start",
        "business_end",
        "work_days",
        "contact_start",
        "contact_end",
    )

    def has_add_permission(self, request):
        return not ShopCalendar.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("day", "name")
    search_fields = ("name",)
    list_filter = ("day",)
