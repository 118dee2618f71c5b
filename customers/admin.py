from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from shopcrm.errors import DomainError

from . import services
from .models import Customer, CustomerMerge, PhoneReveal, Vehicle


class VehicleInline(admin.TabularInline):
    model = Vehicle
    fields = ("plate", "vin", "brand", "model", "is_active")
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False


@admin.action(description=_("合并所选客户（保留最早创建的一条）"), permissions=["merge"])
def merge_selected(modeladmin, request, queryset):
    customers = list(queryset.filter(merged_into__isnull=True).order_by("created_at", "pk"))
    if len(customers) < 2:
        modeladmin.message_user(request, _("请至少选择两位未合并的客户。"), messages.WARNING)
        return
    target, *sources = customers
    for source in sources:
        try:
            services.customer_merge(source=source, target=target, by=request.user)
        except DomainError as exc:
            modeladmin.message_user(request, exc.message, messages.ERROR)
            return
    modeladmin.message_user(
        request,
        _("已将 %(count)s 位客户合并到 %(name)s。") % {"count": len(sources), "name": target.name},
        messages.SUCCESS,
    )


@admin.register(Customer)
class CustomerAdmin(SimpleHistoryAdmin):
    list_display = (
        "name",
        "masked_phone",
        "kind",
        "do_not_contact",
        "marketing_consent",
        "merged_into",
        "created_at",
    )
    list_filter = (
        "kind",
        "do_not_contact",
        "marketing_consent",
        "preferred_channel",
        ("merged_into", admin.EmptyFieldListFilter),
    )
    search_fields = ("name", "phone", "external_id", "email")
    # Phones masked here too, each reveal recorded (context "admin"); they are changed on
    # the customer page, where the rules for a phone (one live customer each) are checked.
    readonly_fields = (
        "phone_masked",
        "merged_into",
        "created_at",
        "updated_at",
        "marketing_consent_at",
    )
    inlines = [VehicleInline]
    actions = [merge_selected]
    date_hierarchy = "created_at"

    def get_exclude(self, request, obj=None):
        return ("phone", "phone2") if obj is not None else ()

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if obj is not None else [f for f in fields if f != "phone_masked"]

    class Media:
        js = ("js/app.js",)

    @admin.display(description=_("手机"))
    def phone_masked(self, customer: Customer) -> str:
        if not customer.pk:
            return ""
        return render_to_string(
            "partials/phone.html",
            {
                "customer": customer,
                "can_reveal": True,
                "reveal_url": reverse("customers:reveal_phone_admin", args=[customer.pk]),
            },
        )

    def has_merge_permission(self, request):
        return request.user.has_perm("customers.merge_customer")


@admin.register(Vehicle)
class VehicleAdmin(SimpleHistoryAdmin):
    list_display = (
        "plate",
        "vin",
        "brand",
        "model",
        "model_year",
        "owner",
        "is_active",
        "vin_check_override",
    )
    list_filter = ("is_active", "brand", "vin_check_override")
    search_fields = ("plate", "vin", "external_id", "owner__name", "owner__phone")
    raw_id_fields = ("owner",)
    readonly_fields = ("vin_override_by", "vin_override_at", "created_at", "updated_at")
    list_select_related = ("owner",)


@admin.register(PhoneReveal)
class PhoneRevealAdmin(admin.ModelAdmin):
    list_display = ("revealed_at", "user", "customer", "context")
    list_filter = ("revealed_at",)
    search_fields = ("customer__name", "user__username")
    list_select_related = ("customer", "user")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(CustomerMerge)
class CustomerMergeAdmin(admin.ModelAdmin):
    list_display = ("merged_at", "source", "target", "merged_by", "moved")
    search_fields = ("source__name", "target__name")
    list_filter = ("merged_at",)
    list_select_related = ("source", "target", "merged_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
