from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.utils.translation import gettext_lazy as _

from .models import PARAMETERS, MessageTemplate, WorkPhone


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ["event", "language", "sms_template_code", "updated_at"]
    list_filter = ["event", "language"]
    readonly_fields = ["parameters"]
    fields = ["event", "language", "body", "parameters", "sms_template_code"]

    @admin.display(description=_("可用参数"))
    def parameters(self, template):
        names = PARAMETERS.get(template.event, ())
        return ", ".join(f"{{{name}}}" for name in names) or "—"


class WorkPhoneInline(admin.StackedInline):
    model = WorkPhone
    can_delete = False
    verbose_name_plural = _("工作电话（接车确认短信中给客户的顾问电话）")


User = get_user_model()
BaseUserAdmin = type(admin.site._registry.get(User)) if User in admin.site._registry else UserAdmin


class UserWithWorkPhoneAdmin(BaseUserAdmin):
    inlines = [*getattr(BaseUserAdmin, "inlines", []), WorkPhoneInline]


if User in admin.site._registry:
    admin.site.unregister(User)
admin.site.register(User, UserWithWorkPhoneAdmin)
