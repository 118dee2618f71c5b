from datetime import time, timedelta

import pytest
from django.utils import timezone

from followups.models import FollowUpPolicy
from messaging.backends import LocmemBackend
from tests.factories import CustomerFactory, VisitFactory
from visits.models import Visit


@pytest.fixture(autouse=True)
def calls_all_day(db):
    """Messages go out whenever the test runs (quiet hours are tested on their own)."""
    policy = FollowUpPolicy.current()
    policy.calling_start, policy.calling_end = time(0, 0), time(23, 59, 59)
    policy.save()
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
