"""Each customer's value tier, stored (issue 19): the nightly refresh writes METRICS.md's
RFM tiers (the dashboard's pyramid) onto the customers with the day, blanks those without
a visit in the 24 months, runs once a day, and moves the waiting calls of new VIPs."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer, ValueTier
from customers.services import customer_value_tiers_set
from followups import rules
from followups.models import FollowUpTask
from reports import dashboard, tasks
from reports.tiers import value_tiers_store
from tests.factories import CustomerFactory, VehicleFactory, VisitFactory
from tests.followups.test_services import due_task
from visits.models import Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
SHANGHAI = timezone.get_default_timezone()


@pytest.fixture
def noon(monkeypatch):
    moment = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)), SHANGHAI)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


def delivered(customer, at, amount):
    VisitFactory(
        vehicle=VehicleFactory(owner=customer),
        status=Visit.Status.DELIVERED,
        checked_in_at=at - timedelta(hours=3),
        promised_at=at,
        delivered_at=at,
        total_amount=Decimal(amount),
    )


def ten_customers(noon) -> list:
    """Customer i (0…9) came i + 1 times, last 100 - 10 i days ago, spending more each
    step: better in recency, frequency and money alike, so the ranking is theirs."""
    customers = []
    for i in range(10):
        customer = CustomerFactory()
        for n in range(i + 1):
            delivered(customer, noon - timedelta(days=100 - 10 * i + 30 * n), 500 + 100 * i)
        customers.append(customer)
    return customers


def tiers_stored() -> dict:
    return dict(Customer.objects.values_list("pk", "value_tier"))


def test_the_stored_tiers_are_metrics_pyramid(noon):
    customers = ten_customers(noon)
    long_gone = CustomerFactory(value_tier=ValueTier.VIP, value_tier_on=noon.date() - timedelta(1))
    delivered(long_gone, noon - timedelta(days=800), 9000)
    never = CustomerFactory()
    value_tiers_store()
    stored = tiers_stored()
    # By hand: quintiles of 10 are pairs, so customers 2k and 2k + 1 share the score 3k + 3
    # and the earlier id ranks first (the dashboard's tie rule). Best first: 8 9 6 7 4 5 2 3
    # 0 1; top 20 % VIP, next 30 % core, next 30 % regular, last 20 % low.
    expected = ["low", "low", "regular", "regular", "core", "regular", "core", "core"]
    expected += ["vip", "vip"]
    assert [stored[c.pk] for c in customers] == expected
    assert stored[long_gone.pk] == "" and stored[never.pk] == ""
    frame = dashboard.value_tiers(noon.date())["frame"]
    assert dict(zip(frame["customer_id"], frame["tier"], strict=True)) == {
        pk: tier for pk, tier in stored.items() if tier
    }
    assert set(Customer.objects.exclude(pk=never.pk).values_list("value_tier_on", flat=True)) == {
        noon.date()
    }
    assert Customer.objects.get(pk=never.pk).value_tier_on is None


def test_the_refresh_moves_the_waiting_calls_of_new_vips(noon):
    customers = ten_customers(noon)
    call = due_task(customer=customers[9], due_at=noon)
    assert call.priority == rules.priority_of(FollowUpTask.Kind.POST_SERVICE)
    assert value_tiers_store()["calls_moved"] == 1
    call.refresh_from_db()
    assert call.priority == rules.priority_of(FollowUpTask.Kind.POST_SERVICE, vip=True)


def test_the_beat_stores_once_a_day(noon, django_assert_max_num_queries):
    customers = ten_customers(noon)
    assert tasks.refresh_value_tiers()["customers"] == 10
    Customer.objects.filter(pk=customers[0].pk).update(value_tier="vip")
    with django_assert_max_num_queries(1):
        assert tasks.refresh_value_tiers() is None  # done today: nothing computed
    assert Customer.objects.get(pk=customers[0].pk).value_tier == "vip"


def test_an_unknown_tier_is_refused_and_nothing_written(noon):
    customer = CustomerFactory(value_tier=ValueTier.CORE, value_tier_on=noon.date())
    with pytest.raises(ValueError):
        customer_value_tiers_set(tiers={customer.pk: "gold"}, on=noon.date())
    assert Customer.objects.get(pk=customer.pk).value_tier == ValueTier.CORE


def test_the_beat_runs_the_refresh():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["reports-value-tiers"]
    assert entry["task"] == tasks.refresh_value_tiers.name and entry["schedule"] <= 3600
