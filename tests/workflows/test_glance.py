"""The customer at a glance (issue 19): its contents for a customer with every part and for
one with none, an erased customer, a bounded number of queries, and the panel on the
customer page, the check-in form and the call screen."""

from datetime import datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from complaints import services as complaint_services
from customers.models import ValueTier
from followups import selectors as followup_selectors
from followups.models import CallAttempt, FollowUpTask
from surveys import selectors as survey_selectors
from surveys import services as survey_services
from tests.factories import (
    AppointmentFactory,
    CustomerFactory,
    UserFactory,
    VehicleFactory,
    VisitFactory,
)
from tests.visits.test_recommendations import answered
from visits.models import Visit, WorkItem
from workflows.glance import customer_glance

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
SHANGHAI = timezone.get_default_timezone()


@pytest.fixture
def noon(monkeypatch):
    """The shop's noon today: "tomorrow" and "yesterday" are never across midnight."""
    moment = timezone.make_aware(datetime.combine(timezone.localdate(), time(12)), SHANGHAI)
    monkeypatch.setattr(timezone, "now", lambda: moment)
    return moment


def full_customer(advisor, noon):
    """A VIP with their advisor, an alerting survey answer, two open complaints and a
    closed one, four dials, a declined item, a booked appointment and a delivered visit."""
    taker = UserFactory(role="manager", username="taker")
    item = answered(advisor, WorkItem.Status.DECLINED, description="刹车片磨损，建议更换")
    customer = item.visit.customer
    customer.value_tier, customer.value_tier_on = ValueTier.VIP, noon.date()
    customer.advisor = advisor
    customer.save()
    vehicle = item.visit.vehicle
    delivered = VisitFactory(
        vehicle=vehicle,
        status=Visit.Status.DELIVERED,
        checked_in_at=noon - timedelta(days=20, hours=3),
        promised_at=noon - timedelta(days=20),
        delivered_at=noon - timedelta(days=20),
        odometer_km=3000,
        advisor=advisor,
    )
    survey_services.response_create(
        template=survey_selectors.template_default(),
        visit=delivered,
        channel="sms",
        answers={"rel_fixed_right": 1, "nps": 2, "comment": "等太久了"},
        submitted_at=noon - timedelta(days=18),
        require_required=False,
    )
    complaints = [
        complaint_services.complaint_create(
            customer=customer,
            by=taker,
            category="attitude",
            severity="low",
            channel="walk_in",
            description=f"投诉 {n}",
        )
        for n in range(2)
    ]
    task = FollowUpTask.objects.filter(customer=customer).first()
    agent = UserFactory(role="agent", username="agent-g")
    for n, outcome in enumerate(["no_answer", "busy", "no_answer", "reached_satisfied"]):
        CallAttempt.objects.create(
            task=task,
            agent=agent,
            started_at=noon - timedelta(days=10 - n, minutes=3),
            ended_at=noon - timedelta(days=10 - n),
            outcome=outcome,
        )
    AppointmentFactory(vehicle=vehicle, customer=customer, scheduled_at=noon + timedelta(days=2))
    return customer, complaints


def test_every_part_for_a_customer_with_all_of_them(advisor, noon):
    customer, complaints = full_customer(advisor, noon)
    glance = customer_glance(customer=customer)
    assert glance.is_vip and glance.tier_label == "VIP"
    assert glance.advisor_name == "李娜"
    assert glance.last_response.is_alert and glance.last_response.nps_score == 2
    assert {c.pk for c in glance.open_complaints} == {c.pk for c in complaints}
    assert [call.outcome for call in glance.last_calls] == [
        "reached_satisfied",
        "no_answer",
        "busy",
    ]
    assert [r.item.description for r in glance.recommendations] == ["刹车片磨损，建议更换"]
    assert glance.upcoming.scheduled_at == noon + timedelta(days=2)
    vehicle = customer.vehicles.get()
    predicted = followup_selectors.next_services(vehicles=[vehicle])[vehicle.pk]
    assert glance.next_service.day == predicted and glance.next_service.vehicle == vehicle
    assert not glance.empty


def test_a_new_customer_has_an_empty_glance_that_renders(manager_client):
    customer = CustomerFactory()
    glance = customer_glance(customer=customer)
    assert glance.empty and not glance.erased
    assert glance.tier == "" and glance.advisor_name == ""
    assert glance.last_response is None and glance.upcoming is None and glance.next_service is None
    page = manager_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    panel = page.split('id="customer-glance"')[1].split("</dl>")[0]
    assert "暂无评价" in panel and 'id="glance-vip"' not in panel


def test_an_erased_customer_shows_nothing_personal(advisor, noon, manager_client):
    from privacy import services as privacy_services

    customer, _complaints = full_customer(advisor, noon)
    manager = UserFactory(role="manager", username="eraser")
    privacy_services.customer_erase(customer=customer, by=manager)
    customer.refresh_from_db()
    glance = customer_glance(customer=customer)
    assert glance.erased and glance.empty
    page = manager_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    panel = page.split('id="customer-glance"')[1].split("</div>\n</div>")[0]
    assert 'id="glance-erased"' in panel
    assert "等太久了" not in page and "刹车片" not in panel


def test_the_glance_takes_a_bounded_number_of_queries(advisor, noon):
    customer, _complaints = full_customer(advisor, noon)
    customer_glance(customer=customer)  # the vehicle states are brought up to date once
    with CaptureQueriesContext(connection) as few:
        customer_glance(customer=customer)
    for n in range(5):  # more of everything: the same number of queries
        extra = VehicleFactory(owner=customer)
        VisitFactory(
            vehicle=extra,
            status=Visit.Status.DELIVERED,
            checked_in_at=noon - timedelta(days=40 + n, hours=2),
            promised_at=noon - timedelta(days=40 + n),
            delivered_at=noon - timedelta(days=40 + n),
        )
    customer_glance(customer=customer)
    with CaptureQueriesContext(connection) as many:
        glance = customer_glance(customer=customer)
    assert len(glance.last_calls) == 3
    assert len(many.captured_queries) == len(few.captured_queries) <= 10


def test_the_panel_is_on_the_customer_page_the_check_in_form_and_the_call_screen(
    advisor, noon, client
):
    customer, _complaints = full_customer(advisor, noon)
    vehicle = customer.vehicles.get()
    client.force_login(advisor)
    for url in (
        reverse("customers:detail", args=[customer.pk]),
        reverse("visits:check_in") + f"?customer={customer.pk}",
        reverse("visits:check_in") + f"?vehicle={vehicle.pk}",
    ):
        page = client.get(url).content.decode()
        assert 'id="customer-glance"' in page and 'id="glance-vip"' in page, url
        assert "李娜" in page.split('id="glance-advisor"')[1][:200], url
    # Without a customer picked, the check-in form has no panel.
    page = client.get(reverse("visits:check_in")).content.decode()
    assert 'id="customer-glance"' not in page
    task = FollowUpTask.objects.filter(customer=customer).first()
    client.force_login(UserFactory(role="manager", username="supervisor"))
    page = client.get(reverse("followups:call", args=[task.pk])).content.decode()
    assert 'id="customer-glance"' in page and 'id="glance-vip"' in page
    # In the left column: the outcome buttons (right column) are not pushed down by it.
    assert page.index('id="customer-glance"') < page.index('class="col-lg-7"')
