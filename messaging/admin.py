from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Message


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "purpose",
        "channel",
        "delivered_channel",
        "masked_recipient",
        "status",
        "attempts",
        "sent_at",
    )
    list_filter = ("status", "channel", "delivered_channel", "purpose")
    search_fields = ("recipient", "object_key", "customer__name")
    raw_id_fields = ("customer",)
    readonly_fields = (
        "provider_message_id",
        "delivered_channel",
        "last_error",
        "sent_at",
        "created_at",
    )

    @admin.display(description=_("接收方"))
    def masked_recipient(self, message: Message) -> str:
        return message.masked_recipient
