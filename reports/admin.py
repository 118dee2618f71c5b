from django.contrib import admin

from .models import ScorecardTarget


@admin.register(ScorecardTarget)
class ScorecardTargetAdmin(admin.ModelAdmin):
    """The advisor scorecard's targets (rates in percent, CSI and NPS in points)."""

    list_display = ("figure", "direction", "value")
    list_editable = ("direction", "value")
