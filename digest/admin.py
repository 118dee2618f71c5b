from django.contrib import admin

from .models import Digest, DigestPolicy


@admin.register(DigestPolicy)
class DigestPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "send_at", "to_managers", "to_advisors")

    def has_add_permission(self, request):
        return not DigestPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Digest)
class DigestAdmin(admin.ModelAdmin):
    """Read only: what was made for whom, and when its e-mail went into the outbox."""

    list_display = ("day", "recipient", "scope", "created_at", "enqueued_at")
    list_filter = ("scope", "day")
    list_select_related = ("recipient",)
    date_hierarchy = "day"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
