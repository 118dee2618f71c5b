"""Erasing customers moves no report figure: on the randomised shop of the correctness
tests, every figure before equals every figure after erasing a quarter of the customers."""

from datetime import date

import pytest

from complaints.models import Complaint
from customers.models import Customer
from privacy import services
from reports import dashboard, metrics
from surveys.models import SurveyResponse
from tests.reports.test_correctness import (
    PERIODS,
    TODAY,
    shop,  # noqa: F401 (the fixture)
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def figures() -> dict:
    result = {}
    for start, end in PERIODS:
        period = metrics.Period(start, end)
        result[f"summary {start}"] = metrics.summary(period)
        result[f"categories {start}"] = metrics.complaint_categories(period)
        result[f"months {start}"] = dashboard.by_month(period)
        result[f"advisors {start}"] = dashboard.advisors_ranked(period)
        result[f"funnel {start}"] = dashboard.follow_up_funnel(period)
    for as_of in (TODAY, date(2026, 3, 31)):
        result[f"churn {as_of}"] = metrics.churn(as_of)
        result[f"segments {as_of}"] = metrics.segments(as_of)
        result[f"tiers {as_of}"] = dashboard.value_tiers(as_of)["tiers"]
        result[f"due {as_of}"] = metrics.service_due_count(as_of, within=30)
    return result


def test_erasing_customers_changes_no_report_figure(shop):  # noqa: F811
    # Customers with responses and complaints among them, and some at random.
    chosen = set(SurveyResponse.objects.values_list("customer_id", flat=True)[:15])
    chosen |= set(Complaint.objects.values_list("customer_id", flat=True)[:15])
    chosen |= set(Customer.objects.order_by("?").values_list("pk", flat=True)[:10])
    before = figures()
    for customer in Customer.objects.filter(pk__in=chosen):
        services.customer_erase(customer=customer)
    assert Customer.objects.filter(name__startswith="已删除客户").count() == len(chosen) >= 30
    after = figures()
    same(after, before)


def same(actual, expected, path="") -> None:
    """Equal, floats to 12 significant digits: wiping a visit's text makes the daily table
    add its day up again, and a float sum in another order differs in the last digit."""
    if isinstance(expected, dict):
        assert set(actual) == set(expected), path
        for key in expected:
            same(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), path
        for index, (left, right) in enumerate(zip(actual, expected, strict=True)):
            same(left, right, f"{path}[{index}]")
    elif isinstance(expected, float):
        assert actual == pytest.approx(expected, rel=1e-12), path
    else:
        assert actual == expected, path
