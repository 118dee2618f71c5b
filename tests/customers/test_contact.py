"""The contact rules (customers.contact): who may be contacted for what, and at which
address — one place that every sender and sweep asks."""

import pytest
from django.db import connection

from customers.contact import (
    Purpose,
    address_for,
    contactable,
    contactable_sql,
    may_contact,
    message_channel_for,
    refusal_reason,
)
from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
EVERY = list(Purpose)


def customer(**fields) -> Customer:
    return Customer(name="王芳", phone="+8613812345678", **fields)


@pytest.mark.parametrize(
    ("fields", "allowed"),
    [
        ({}, {Purpose.CALL, Purpose.SERVICE}),
        ({"marketing_consent": True}, set(EVERY)),
        ({"marketing_consent": True, "do_not_contact": True}, set()),
        ({"do_not_contact": True}, set()),
        # Service messages turned off: calls and surveys as before, no service messages.
        ({"service_messages": False}, {Purpose.CALL}),
        ({"service_messages": False, "marketing_consent": True}, set(EVERY) - {Purpose.SERVICE}),
    ],
)
def test_who_may_be_contacted_for_what(fields, allowed):
    assert {purpose for purpose in EVERY if may_contact(customer(**fields), purpose)} == allowed
    # The reason recorded for a refusal says which rule refused.
    for purpose in EVERY:
        reason = refusal_reason(customer(**fields), purpose)
        if purpose in allowed:
            assert reason == ""
        elif fields.get("do_not_contact"):
            assert reason == "do not contact"
        elif purpose == Purpose.SERVICE:
            assert reason == "service messages off"
        else:
            assert reason == "no consent"


def test_the_filter_picks_exactly_whom_the_rule_allows():
    people = [
        CustomerFactory(),
        CustomerFactory(marketing_consent=True),
        CustomerFactory(marketing_consent=True, do_not_contact=True),
        CustomerFactory(do_not_contact=True),
        CustomerFactory(service_messages=False),
        CustomerFactory(service_messages=False, marketing_consent=True),
    ]
    for purpose in EVERY:
        picked = set(Customer.objects.filter(contactable(purpose)))
        assert picked == {c for c in people if may_contact(c, purpose)}, purpose
        condition = contactable_sql(purpose, "c")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT c.id FROM customers_customer c WHERE {condition}")  # noqa: S608
            assert {row[0] for row in cursor.fetchall()} == {c.pk for c in picked}, purpose


def test_addresses_and_the_message_channel():
    person = customer(email="wang@example.com", wechat_openid="", preferred_channel="wechat")
    assert address_for(person, "sms") == address_for(person, "phone") == "+8613812345678"
    assert address_for(person, "email") == "wang@example.com"
    assert address_for(person, "wechat") == ""
    assert address_for(person, "carrier_pigeon") == ""
    assert message_channel_for(person) == "sms"  # no OpenID: SMS instead
    person.wechat_openid = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
    assert message_channel_for(person) == "wechat"
    person.preferred_channel = "phone"  # a call is not a message channel
    assert message_channel_for(person) == "sms"
