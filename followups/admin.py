from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from shopcrm.admin_filters import PersonListFilter, person_column

from . import services
from .models import CallAttempt, FollowUpPolicy, FollowUpTask


@admin.register(FollowUpPolicy)
class FollowUpPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "post_service_delay_hours",
        "first_retry_hours",
        "max_attempts",
    )

    def has_add_permission(self, request):
        return not FollowUpPolicy.objects.exists()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "vip_first" in form.changed_data:  # the waiting calls follow the switch at once
            services.task_priorities_apply()

    def has_delete_permission(self, request, obj=None):
        return False


class CallAttemptInline(admin.TabularInline):
    model = CallAttempt
    extra = 0
    readonly_fields = ("agent", "started_at", "ended_at", "outcome", "notes")
    can_delete = False


@admin.register(FollowUpTask)
class FollowUpTaskAdmin(SimpleHistoryAdmin):
    list_display = (
        "kind",
        "customer",
        "status",
        "priority",
        "next_attempt_at",
        person_column(FollowUpTask, "assigned_to"),
        "attempts",
        "outcome",
    )
    list_filter = ("kind", "status", "outcome", "lost_reason", ("assigned_to", PersonListFilter))
    search_fields = ("customer__name", "customer__phone", "source_key", "visit__ro_number")
    raw_id_fields = ("customer", "vehicle", "visit")
    list_select_related = ("customer", "assigned_to")
    inlines = [CallAttemptInline]
    date_hierarchy = "due_at"


@admin.register(CallAttempt)
class CallAttemptAdmin(admin.ModelAdmin):
    list_display = ("started_at", person_column(CallAttempt, "agent"), "task", "outcome")
    list_filter = ("outcome", ("agent", PersonListFilter))
    search_fields = ("task__customer__name", "notes")
    list_select_related = ("agent", "task")
