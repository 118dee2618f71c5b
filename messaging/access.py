"""Who may see the outbox and send a message again. Administrators see every message in
the Django admin (recipients masked there); managers see the messages that gave up on their
own page and retry them. Messages loaded by id go through ``message_for``."""

from shopcrm.access import object_for

from .models import Message, SmsReply

VIEW = "messaging.view_message"
RETRY = "messaging.retry_message"


def message_for(user, pk, *, permission: str = RETRY) -> Message:
    return object_for(user, Message, pk, permission=permission)


HANDLE_REPLY = "messaging.handle_smsreply"


def reply_for(user, pk, *, permission: str = HANDLE_REPLY) -> SmsReply:
    return object_for(user, SmsReply, pk, permission=permission)
