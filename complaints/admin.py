from django.contrib import admin

from .models import (
    Complaint,
    ComplaintEscalation,
    ComplaintEvent,
    ComplaintNumberSequence,
    ComplaintPolicy,
    Notification,
)


@admin.register(ComplaintPolicy)
class ComplaintPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "high_response_hours", "high_resolution_hours")

    def has_add_permission(self, request):
        return not ComplaintPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class EventInline(admin.TabularInline):
    model = ComplaintEvent
    extra = 0
    readonly_fields = ("at", "kind", "actor", "text", "from_status", "to_status")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(admin.ModelAdmin):
    """Read-only here: complaints move through their pages, where each step is recorded."""

    list_display = ("number", "customer", "category", "severity", "status", "owner", "received_at")
    list_filter = ("status", "category", "severity", "channel")
    search_fields = ("number", "customer__name", "external_id")
    raw_id_fields = ("customer", "vehicle", "visit", "follow_up_task", "survey_response")
    inlines = [EventInline]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ComplaintEscalation)
class ComplaintEscalationAdmin(admin.ModelAdmin):
    list_display = ("complaint", "level", "round", "at")

    def has_change_permission(self, request, obj=None):
        return False


admin.site.register(ComplaintNumberSequence)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "text", "created_at", "read_at")
    list_filter = ("read_at",)
