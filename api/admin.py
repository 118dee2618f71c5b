from django.contrib import admin

from .models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):
    list_display = ("created_at", "client", "endpoint", "key", "status_code")
    list_filter = ("endpoint", "status_code", "created_at")
    search_fields = ("key", "client__username")
    readonly_fields = (
        "client",
        "key",
        "endpoint",
        "request_sha256",
        "status_code",
        "response",
        "created_at",
    )

    def has_add_permission(self, request):
        return False
