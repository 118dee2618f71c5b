from django.contrib import admin

from .models import Campaign


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "audience", "channel", "status", "starts_at", "ends_on")
    list_filter = ("kind", "status")
    readonly_fields = ("created_by", "audience_frozen_at", "closed_at", "vin_import_errors")
