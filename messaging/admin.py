from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Message, SmsReply


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


@admin.register(SmsReply)
class SmsReplyAdmin(admin.ModelAdmin):
    list_display = (
        "received_at",
        "provider",
        "masked_phone",
        "interpretation",
        "action",
        "handled_at",
    )
    list_filter = ("provider", "interpretation", "action")
    raw_id_fields = ("customer",)
    readonly_fields = ("dedupe_key", "created_at")

    @admin.display(description=_("手机号"))
    def masked_phone(self, reply: SmsReply) -> str:
        return reply.masked_phone
