"""May this customer be contacted, for what, and at which address — one place, asked by
every sender and sweep (follow-up calls, survey invitations, messages) when the work is
planned and again at the moment of contact.

- Nobody who asked not to be contacted (do-not-contact) is called or sent anything.
- Service contact (the follow-up calls, service messages about their own car) needs no
  marketing consent; service messages go only to customers who have not turned them off
  (``Customer.service_messages``); survey invitations and marketing (maintenance reminders, win-back
  offers) need the customer's recorded consent (docs/decisions.md, issues 4 and 5).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Customer

Channel = Customer.Channel


class Purpose(models.TextChoices):
    CALL = "call", _("回访电话")
    SERVICE = "service", _("服务通知")
    SURVEY = "survey", _("满意度调查")
    MARKETING = "marketing", _("保养提醒与营销")


NEEDS_CONSENT = frozenset({Purpose.SURVEY, Purpose.MARKETING})
MESSAGE_CHANNELS = (Channel.SMS, Channel.WECHAT, Channel.EMAIL)


def may_contact(customer: Customer, purpose: str) -> bool:
    """Whether ``customer`` may be contacted now for ``purpose`` (a Purpose)."""
    if customer.do_not_contact:
        return False
    if purpose == Purpose.SERVICE and not customer.service_messages:
        return False
    return purpose not in NEEDS_CONSENT or customer.marketing_consent


def refusal_reason(customer: Customer, purpose: str) -> str:
    """Why ``may_contact`` says no, as the outbox and the invitations record it ("" when
    it says yes)."""
    if customer.do_not_contact:
        return "do not contact"
    if purpose == Purpose.SERVICE and not customer.service_messages:
        return "service messages off"
    return "no consent" if not may_contact(customer, purpose) else ""


def contactable(purpose: str, prefix: str = "") -> Q:
    """``may_contact`` as a filter, for sweeps that pick customers in bulk (``prefix``:
    the path to the customer, e.g. "customer__")."""
    q = Q(**{f"{prefix}do_not_contact": False})
    if purpose == Purpose.SERVICE:
        q &= Q(**{f"{prefix}service_messages": True})
    if purpose in NEEDS_CONSENT:
        q &= Q(**{f"{prefix}marketing_consent": True})
    return q


def contactable_sql(purpose: str, alias: str) -> str:
    """``may_contact`` as an SQL condition on the customer row ``alias`` (the call queue's
    claim asks it in its one statement)."""
    condition = f"NOT {alias}.do_not_contact"
    if purpose == Purpose.SERVICE:
        condition += f" AND {alias}.service_messages"
    if purpose in NEEDS_CONSENT:
        condition += f" AND {alias}.marketing_consent"
    return condition


def address_for(customer: Customer, channel: str) -> str:
    """The customer's address on ``channel`` ("" when they have none there): the mobile
    for SMS and calls, the OpenID for WeChat, the e-mail address."""
    return {
        Channel.SMS: customer.phone,
        Channel.PHONE: customer.phone,
        Channel.WECHAT: customer.wechat_openid,
        Channel.EMAIL: customer.email,
    }.get(channel, "")


def message_channel_for(customer: Customer) -> str:
    """The customer's preferred channel for a message when we have that address there (and,
    for WeChat, an Official Account is configured), otherwise SMS."""
    channel = customer.preferred_channel
    if channel == Channel.WECHAT and not settings.WECHAT_APP_ID:  # no WeChat account set up
        return Channel.SMS
    if channel in MESSAGE_CHANNELS and address_for(customer, channel):
        return channel
    return Channel.SMS
