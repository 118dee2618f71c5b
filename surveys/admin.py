from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import selectors, services
from .models import Answer, Question, SurveyInvitation, SurveyPolicy, SurveyResponse, SurveyTemplate


@admin.register(SurveyPolicy)
class SurveyPolicyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "invitation_delay_hours", "reminder_after_days", "expiry_days")

    def has_add_permission(self, request):
        return not SurveyPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = (
        "order",
        "code",
        "text",
        "text_en",
        "kind",
        "dimension",
        "required",
        "in_short_form",
        "choices",
    )

    def has_change_permission(self, request, obj=None):
        return obj is None or not selectors.template_in_use(obj)

    has_add_permission = has_change_permission
    has_delete_permission = has_change_permission


@admin.register(SurveyTemplate)
class SurveyTemplateAdmin(admin.ModelAdmin):
    """A template in use is read-only: "new version" copies it for editing."""

    list_display = ("name", "code", "version", "is_default", "created_at")
    list_filter = ("code", "is_default")
    inlines = [QuestionInline]
    actions = ["make_new_version"]

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or not selectors.template_in_use(obj))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or not selectors.template_in_use(obj))

    @admin.action(description=_("复制为新版本"), permissions=["add"])
    def make_new_version(self, request, queryset):
        for template in queryset:
            copy = services.template_new_version(template=template)
            self.message_user(
                request, _("已创建 %(name)s，可以编辑。") % {"name": copy}, messages.SUCCESS
            )


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(admin.ModelAdmin):
    list_display = ("visit", "customer", "channel", "status", "due_at", "sent_at", "completed_at")
    list_filter = ("status", "channel")
    search_fields = ("visit__ro_number", "customer__name")
    raw_id_fields = ("visit", "customer")
    exclude = ("token_hash", "reminder_token_hash")

    def has_change_permission(self, request, obj=None):
        return False


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    readonly_fields = ("question", "value", "text", "points")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ("visit", "customer", "channel", "csi", "nps_score", "is_alert", "submitted_at")
    list_filter = ("channel", "is_alert", "completed_quickly", "template")
    search_fields = ("visit__ro_number", "customer__name", "external_id")
    raw_id_fields = ("visit", "customer", "invitation", "follow_up_task", "recorded_by")
    inlines = [AnswerInline]

    def has_change_permission(self, request, obj=None):
        return False
