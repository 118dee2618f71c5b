from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.backends import LocmemBackend
from tests.factories import CustomerFactory, VisitFactory, contact_all_day
from visits.models import Visit


@pytest.fixture(autouse=True)
def calls_all_day(db):
    """Messages go out whenever the test runs (quiet hours are tested on their own)."""
    contact_all_day()
    LocmemBackend.outbox.clear()
    yield
    LocmemBackend.outbox.clear()


def make_delivered_visit(*, consent=True, hours_ago=30, **customer_fields):
    customer = CustomerFactory(marketing_consent=consent, **customer_fields)
    delivered = timezone.now() - timedelta(hours=hours_ago)
    return VisitFactory(
        vehicle__owner=customer,
        status=Visit.Status.DELIVERED,
        checked_in_at=delivered - timedelta(hours=3),
        promised_at=delivered,
        delivered_at=delivered,
    )


def received_link(purpose: str = "survey_invitation") -> str:
    """The survey link as the customer got it: from what the sender was given once the
    message went out (the outbox then keeps no link), else from the queued message."""
    from messaging.models import Message

    message = Message.objects.get(purpose=purpose)
    sent = [m for m in LocmemBackend.outbox if m.pk == message.pk]
    return (sent[0] if sent else message).params["link"]
