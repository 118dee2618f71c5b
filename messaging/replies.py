"""Customers' SMS replies ("上行短信"), pushed by Aliyun or Tencent Cloud SMS: read the
provider's documented push, tell a command from a text a person must read, and act on it
through the customers' own services (docs/decisions.md, "Replies that unsubscribe").

- "TD", "T", "N", "退订", "取消", "unsubscribe" (exactly, in any case or width, spaces and
  punctuation ignored): marketing consent withdrawn, source "sms reply".
- A short reply that asks not to be called or bothered ("勿扰", "别打了", "不要再打", "拒绝"
  …): do-not-contact.
Either change empties the queues at once (customers.events: the outbox cancels the queued
messages the rules now refuse, the call queue the open calls). Anything else, and every
reply from a number no live customer has, waits on the staff page for a person."""

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.selectors import customer_find_by_phone
from customers.services import customer_mark_do_not_contact, customer_update
from customers.validators import normalize_phone
from shopcrm.errors import DomainError

from .models import SmsReply

CONSENT_SOURCE = "sms reply"
UNSUBSCRIBE_WORDS = frozenset({"td", "t", "n", "退订", "取消", "unsubscribe"})
DO_NOT_CONTACT_PHRASES = (
    "勿扰",
    "打扰",
    "骚扰",
    "别打",
    "不要打",
    "不要再打",
    "别再打",
    "拒绝",
    "别联系",
    "别再联系",
    "不要联系",
    "不要再联系",
)
# A longer text that happens to contain "拒绝" is a message for a person, not a command.
DO_NOT_CONTACT_MAX_LENGTH = 20
MAX_TEXT_LENGTH = 2000
MAX_REPLIES_PER_PUSH = 1000


class BadPush(ValueError):
    """The push is not the provider's documented shape: answered 400, nothing written."""


@dataclass(frozen=True)
class InboundReply:
    provider: str
    phone: str  # E.164
    text: str
    received_at: datetime
    dedupe_key: str


def _digest(*parts) -> str:
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()


def _json(body: bytes):
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadPush(_("请求体不是有效的 JSON。")) from exc


def _field(item: dict, name: str, kinds: tuple, where: str):
    value = item.get(name)
    if value is None or isinstance(value, bool) or not isinstance(value, kinds):
        raise BadPush(
            _("%(where)s缺少字段 %(field)s 或其类型不对。") % {"where": where, "field": name}
        )
    return value


def _phone(value: str, where: str) -> str:
    try:
        return normalize_phone(str(value))
    except ValidationError as exc:
        raise BadPush(
            _("%(where)s的手机号无效：%(value)s") % {"where": where, "value": value}
        ) from exc


def _text(value: str, where: str) -> str:
    if len(value) > MAX_TEXT_LENGTH:
        raise BadPush(_("%(where)s的回复内容过长。") % {"where": where})
    return value


def parse_aliyun(body: bytes) -> list[InboundReply]:
    """Aliyun's HTTP batch push of up-messages: a JSON array of {phone_number, send_time
    ("yyyy-MM-dd HH:mm:ss", Beijing time), content, sign_name, dest_code, sequence_id}."""
    items = _json(body)
    if not isinstance(items, list):
        raise BadPush(_("阿里云上行短信推送应为 JSON 数组。"))
    if len(items) > MAX_REPLIES_PER_PUSH:
        raise BadPush(_("一次推送的回复过多。"))
    replies = []
    for index, item in enumerate(items, start=1):
        where = _("第 %(n)s 条") % {"n": index}
        if not isinstance(item, dict):
            raise BadPush(_("%(where)s不是 JSON 对象。") % {"where": where})
        phone = _phone(_field(item, "phone_number", (str, int), where), where)
        sent = _field(item, "send_time", (str,), where)
        try:
            moment = timezone.make_aware(datetime.strptime(sent, "%Y-%m-%d %H:%M:%S"))
        except ValueError as exc:
            raise BadPush(
                _("%(where)s的 send_time 格式应为 yyyy-MM-dd HH:mm:ss。") % {"where": where}
            ) from exc
        sequence_id = _field(item, "sequence_id", (str, int), where)
        replies.append(
            InboundReply(
                provider=SmsReply.Provider.ALIYUN,
                phone=phone,
                text=_text(_field(item, "content", (str,), where), where),
                received_at=moment,
                dedupe_key=_digest("aliyun", sequence_id),
            )
        )
    return replies


def parse_tencent(body: bytes) -> list[InboundReply]:
    """Tencent Cloud's SMS reply callback: one JSON object {extend, mobile, nationcode,
    sign, text, time (UNIX seconds)}. It carries no id, so a retry is known by phone, time
    and text."""
    item = _json(body)
    where = _("回调")
    if not isinstance(item, dict):
        raise BadPush(_("腾讯云短信回复回调应为 JSON 对象。"))
    mobile = _field(item, "mobile", (str,), where)
    nationcode = str(_field(item, "nationcode", (str, int), where)).lstrip("+")
    phone = _phone(f"+{nationcode}{mobile}", where)
    text = _text(_field(item, "text", (str,), where), where)
    seconds = _field(item, "time", (int,), where)
    try:
        moment = datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise BadPush(_("回调的 time 不是有效的时间戳。")) from exc
    return [
        InboundReply(
            provider=SmsReply.Provider.TENCENT,
            phone=phone,
            text=text,
            received_at=moment,
            dedupe_key=_digest("tencent", phone, seconds, text),
        )
    ]


def normalized(text: str) -> str:
    """Full-width to half-width (NFKC), lower case, without spaces, punctuation, symbols
    or invisible characters: "ＴＤ。" and " t d " both read "td"."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(
        char for char in text if not unicodedata.category(char).startswith(("Z", "P", "S", "C"))
    )


def interpret(text: str) -> str:
    """What a reply asks for (an SmsReply.Interpretation)."""
    words = normalized(text)
    if words in UNSUBSCRIBE_WORDS:
        return SmsReply.Interpretation.UNSUBSCRIBE
    if len(words) <= DO_NOT_CONTACT_MAX_LENGTH and any(
        phrase in words for phrase in DO_NOT_CONTACT_PHRASES
    ):
        return SmsReply.Interpretation.DO_NOT_CONTACT
    return SmsReply.Interpretation.OTHER


def _apply(customer: Customer, interpretation: str) -> str:
    """Carry out a command through the customers' services (which emit "contact
    withdrawn": the queued marketing messages and open calls are cancelled with it)."""
    if interpretation == SmsReply.Interpretation.UNSUBSCRIBE:
        if not customer.marketing_consent:
            return SmsReply.Action.ALREADY
        customer_update(customer=customer, marketing_consent=False, consent_source=CONSENT_SOURCE)
        return SmsReply.Action.CONSENT_WITHDRAWN
    if customer.do_not_contact:
        return SmsReply.Action.ALREADY
    customer_mark_do_not_contact(customer=customer, reason=CONSENT_SOURCE)
    return SmsReply.Action.DO_NOT_CONTACT_SET


def reply_receive(inbound: InboundReply) -> tuple[SmsReply, bool]:
    """Record one reply and act on it: (reply, created). A reply delivered again (the
    provider retries) is found by its key and changes nothing."""
    customer = customer_find_by_phone(inbound.phone)
    interpretation = interpret(inbound.text)
    try:
        with transaction.atomic():
            reply = SmsReply.objects.create(
                provider=inbound.provider,
                dedupe_key=inbound.dedupe_key,
                phone=inbound.phone,
                text=inbound.text,
                received_at=inbound.received_at,
                customer=customer,
                interpretation=interpretation,
            )
    except IntegrityError:
        return SmsReply.objects.get(dedupe_key=inbound.dedupe_key), False
    if customer is not None and interpretation != SmsReply.Interpretation.OTHER:
        try:
            with transaction.atomic():
                reply.action = _apply(customer, interpretation)
        except (DomainError, ValidationError):
            # The customer's record refuses the change (details that no longer validate):
            # the provider must not retry for ever, so a person gets the reply instead.
            return reply, True
        reply.handled_at = timezone.now()
        reply.save(update_fields=["action", "handled_at"])
    return reply, True


@transaction.atomic
def replies_receive(*, replies: list[InboundReply]) -> int:
    """One push's replies, all or nothing; the number newly recorded."""
    return sum(reply_receive(inbound)[1] for inbound in replies)


def reply_mark_handled(*, reply: SmsReply, by) -> SmsReply:
    """A member of staff read the reply (and did what it asked, if anything)."""
    done = SmsReply.objects.filter(pk=reply.pk, handled_at__isnull=True).update(
        handled_at=timezone.now(), handled_by=by
    )
    if not done:
        raise DomainError(_("这条回复已经处理过了。"), code="reply_handled")
    reply.refresh_from_db()
    return reply
