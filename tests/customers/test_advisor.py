"""A customer's own advisor (专属顾问, issue 19): set by the first visit at the desk or from
the DMS, never overwritten by later visits, filled by the beat sweep for any customer a
visit left without one, and changed on the customer page (with who and when in the
history; only an active advisor may be chosen)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from tests.api import conftest as api_fixtures
from tests.api.conftest import post
from tests.api.test_sync import customer, vehicle, visit
from tests.factories import CustomerFactory, UserFactory, VehicleFactory, VisitFactory
from visits import services as visit_services
from visits import tasks as visit_tasks

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
dms_user, dms = api_fixtures.dms_user, api_fixtures.dms


def check_in(vehicle, advisor):
    return visit_services.visit_check_in(
        customer=vehicle.owner,
        vehicle=vehicle,
        advisor=advisor,
        service_type="maintenance",
        promised_at=timezone.now() + timedelta(hours=3),
    )


def advisor_of(customer_obj) -> object:
    return Customer.objects.get(pk=customer_obj.pk).advisor


def test_the_first_desk_visit_gives_the_customer_its_advisor_and_later_ones_do_not(advisor):
    other = UserFactory(role="advisor", username="other-advisor")
    car = VehicleFactory()
    first = check_in(car, advisor)
    assert advisor_of(car.owner) == advisor
    visit_services.visit_cancel(visit=first, reason="客户取消", by=advisor)
    check_in(car, other)
    assert advisor_of(car.owner) == advisor  # not overwritten by the next visit


def test_a_customer_already_assigned_keeps_their_advisor_at_check_in(advisor):
    other = UserFactory(role="advisor", username="other-advisor")
    car = VehicleFactory(owner=CustomerFactory(advisor=other))
    check_in(car, advisor)
    assert advisor_of(car.owner) == other


def test_the_dms_sync_assigns_the_first_visits_advisor(dms):
    lina = UserFactory(role="advisor", username="lina")
    wang = UserFactory(role="advisor", username="wang")
    post(dms, "customers", [customer(1), customer(2)])
    post(dms, "vehicles", [vehicle(1), vehicle(2)])
    earlier = (timezone.now() - timedelta(days=5)).isoformat()
    answer = post(
        dms,
        "visits",
        [
            visit(1, advisor="lina", checked_in_at=earlier),
            visit(2, vehicle_n=1, advisor="wang"),
            visit(3, vehicle_n=2, advisor="SA-07"),  # an advisor the shop has no user for
        ],
    )
    assert answer.status_code == 200, answer.content
    assert Customer.objects.get(external_id="C1").advisor == lina
    assert Customer.objects.get(external_id="C2").advisor is None
    # A later batch with another advisor for customer 1 changes nothing.
    post(dms, "visits", [visit(4, vehicle_n=1, advisor="wang")])
    assert Customer.objects.get(external_id="C1").advisor == lina
    assert wang.assigned_customers.count() == 0


def test_the_sweep_fills_customers_left_without_an_advisor_and_is_idempotent(advisor):
    other = UserFactory(role="advisor", username="other-advisor")
    now = timezone.now()
    left = CustomerFactory()
    car = VehicleFactory(owner=left)
    # Visits written past the services (as seed_demo's bulk insert does): no advisor set.
    VisitFactory(vehicle=car, advisor=other, checked_in_at=now - timedelta(days=30))
    VisitFactory(vehicle=car, advisor=advisor, checked_in_at=now - timedelta(days=3))
    without_visits = CustomerFactory()
    assigned = CustomerFactory(advisor=advisor)
    VisitFactory(vehicle=VehicleFactory(owner=assigned), advisor=other)
    assert visit_tasks.sweep_customer_advisors() == 1
    assert advisor_of(left) == other  # the first visit's
    assert advisor_of(without_visits) is None
    assert advisor_of(assigned) == advisor
    assert visit_tasks.sweep_customer_advisors() == 0  # a second beat writes nothing


# ---------------------------------------------------------------- the customer page


def test_a_manager_changes_the_advisor_and_the_history_says_who(manager_client, manager, advisor):
    other = UserFactory(role="advisor", username="zhang", last_name="张", first_name="伟")
    someone = CustomerFactory(advisor=advisor)
    page = manager_client.get(reverse("customers:detail", args=[someone.pk]))
    assert 'id="advisor-form"' in page.content.decode()
    answer = manager_client.post(
        reverse("customers:advisor", args=[someone.pk]), {"advisor": other.pk}
    )
    assert answer.status_code == 302
    assert advisor_of(someone) == other
    record = someone.history.order_by("-history_date").first()
    assert record.history_user == manager and record.advisor_id == other.pk
    page = manager_client.get(reverse("customers:detail", args=[someone.pk])).content.decode()
    assert "专属顾问已改为 张伟。" in page
    history = page.split('id="customer-history"')[1]
    assert "李娜" in history and "张伟" in history  # names, not ids


@pytest.mark.parametrize(
    "choice",
    ["", "abc", "999999", "99999999999999999999", "inactive", "agent", "manager"],
)
def test_a_refused_choice_is_said_and_changes_nothing(manager_client, advisor, choice):
    users = {
        "inactive": UserFactory(role="advisor", username="gone", is_active=False),
        "agent": UserFactory(role="agent", username="agent-x"),
        "manager": UserFactory(role="manager", username="manager-x"),
    }
    value = users[choice].pk if choice in users else choice
    someone = CustomerFactory(advisor=advisor)
    answer = manager_client.post(
        reverse("customers:advisor", args=[someone.pk]), {"advisor": value}, follow=True
    )
    assert answer.status_code == 200
    assert "请选择一位在职的服务顾问。" in answer.content.decode()
    assert advisor_of(someone) == advisor
    assert someone.history.count() == 1  # only its creation


def test_the_choices_are_the_active_advisors_only(manager_client, advisor):
    UserFactory(role="advisor", username="gone", is_active=False, last_name="离", first_name="职")
    UserFactory(role="agent", username="agent-x", last_name="回", first_name="访")
    page = manager_client.get(reverse("customers:detail", args=[CustomerFactory().pk]))
    select = page.content.decode().split('id="advisor-choice"')[1].split("</select>")[0]
    assert "李娜" in select and "离职" not in select and "回访" not in select


def test_an_agent_may_not_change_the_advisor(client, agent, advisor):
    other = UserFactory(role="advisor", username="other-advisor")
    someone = CustomerFactory(advisor=advisor)
    client.force_login(agent)
    page = client.get(reverse("customers:detail", args=[someone.pk])).content.decode()
    assert 'id="advisor-form"' not in page
    answer = client.post(reverse("customers:advisor", args=[someone.pk]), {"advisor": other.pk})
    assert answer.status_code == 403
    assert advisor_of(someone) == advisor


def test_advisors_still_see_their_customers_and_may_hand_one_over(advisor_client, advisor):
    other = UserFactory(role="advisor", username="other-advisor")
    mine = CustomerFactory(advisor=advisor)
    assert advisor_client.get(reverse("customers:detail", args=[mine.pk])).status_code == 200
    advisor_client.post(reverse("customers:advisor", args=[mine.pk]), {"advisor": other.pk})
    assert advisor_of(mine) == other
    assert advisor_client.get(reverse("customers:detail", args=[mine.pk])).status_code == 200


def test_the_beat_runs_the_sweep():
    from django.conf import settings

    entry = settings.CELERY_BEAT_SCHEDULE["visits-customer-advisors"]
    assert entry["task"] == visit_tasks.sweep_customer_advisors.name
