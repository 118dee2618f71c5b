from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from shopcrm.people import person_name

from .models import AccessExportRecord, ErasureRecord, RetentionPolicy


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "message_body_days",
        "phone_reveal_days",
        "login_attempt_days",
        "idempotency_days",
    )

    def has_add_permission(self, request):
        return not RetentionPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyRecordAdmin(admin.ModelAdmin):
    """Records of what was done: read, never written or removed in the admin."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ErasureRecord)
class ErasureRecordAdmin(ReadOnlyRecordAdmin):
    list_display = ("erased_at", "customer_id", "external_id", "who", "operator", "via")
    list_filter = ("via",)
    search_fields = ("=customer__id", "=external_id")
    list_select_related = ("erased_by",)
    date_hierarchy = "erased_at"

    @admin.display(description=_("操作人"))
    def who(self, record):
        return person_name(record.erased_by)


@admin.register(AccessExportRecord)
class AccessExportRecordAdmin(ReadOnlyRecordAdmin):
    list_display = ("exported_at", "customer_id", "format", "who")
    list_filter = ("format",)
    search_fields = ("=customer__id",)
    list_select_related = ("exported_by",)
    date_hierarchy = "exported_at"

    @admin.display(description=_("操作人"))
    def who(self, record):
        return person_name(record.exported_by)
