"""When an advisor leaves (issue 19): a manager moves the advisor's customers to one
advisor or spreads them over several, in one transaction, each move in the customer's
history with who did it and why. Bad input is refused with nothing written."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers import reassignment
from customers.models import Customer
from customers.reassignment import Filters, Spread
from shopcrm.errors import DomainError
from tests.factories import CustomerFactory, UserFactory, VehicleFactory, VisitFactory
from visits.models import Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
URL = "/customers/advisors/"


@pytest.fixture
def team():
    leaving = UserFactory(role="advisor", username="leaving", last_name="王", first_name="强")
    a = UserFactory(role="advisor", username="adv_a", last_name="李", first_name="娜")
    b = UserFactory(role="advisor", username="adv_b", last_name="张", first_name="伟")
    gone = UserFactory(role="advisor", username="gone", is_active=False)
    tiers = ["vip", "vip", "vip", "core", "core", "regular", "regular", "low", "", ""]
    customers = [CustomerFactory(advisor=leaving, value_tier=tier) for tier in tiers]
    CustomerFactory(advisor=a)  # a already holds one customer
    return {"leaving": leaving, "a": a, "b": b, "gone": gone, "customers": customers}


def held(user) -> int:
    return Customer.objects.filter(advisor=user).count()


def test_all_to_one_advisor_with_history(team, manager):
    plan = reassignment.customers_reassign(
        source=team["leaving"], targets=[team["b"]], by=manager, reason="顾问离职"
    )
    assert plan.total == 10 and held(team["leaving"]) == 0 and held(team["b"]) == 10
    record = team["customers"][0].history.first()
    assert record.history_user == manager and record.advisor_id == team["b"].pk
    assert record.history_change_reason == "顾问离职：王强 → 张伟"


def test_balanced_spread_counts_what_each_already_holds_and_spreads_the_vips(team, manager):
    plan = reassignment.customers_reassign(
        source=team["leaving"], targets=[team["a"], team["b"]], by=manager, reason="顾问离职"
    )
    shares = {advisor.pk: len(ids) for advisor, ids in plan.shares}
    # a held 1 already: 1 + 5 and 0 + 5 → 6 / 5 in the end, the difference at most one.
    assert shares == {team["a"].pk: 5, team["b"].pk: 5}
    assert abs((held(team["a"])) - held(team["b"])) <= 1
    vips = Customer.objects.filter(value_tier="vip")
    assert {c.advisor_id for c in vips} == {team["a"].pk, team["b"].pk}


def test_spread_is_even_and_goes_through_the_best_tier_first():
    class U:
        def __init__(self, pk):
            self.pk = pk

    a, b, c = U(1), U(2), U(3)
    customers = [
        (n, tier) for n, tier in enumerate(["low", "vip", "", "core", "vip", "regular", "vip"])
    ]
    rr = reassignment.spread(customers, [a, b, c], {}, Spread.ROUND_ROBIN)
    # Best tier first (VIPs 1, 4, 6, then core 3, regular 5, low 0, none 2), dealt in turn.
    assert [ids for _t, ids in rr] == [[1, 3, 2], [4, 5], [6, 0]]
    balanced = reassignment.spread(customers, [a, b, c], {1: 3}, Spread.BALANCED)
    sizes = {t.pk: len(ids) for t, ids in balanced}
    assert sizes == {1: 1, 2: 3, 3: 3}  # a held 3 already: everyone ends near 3 + 7 / 3


def test_filters_narrow_the_move(team, manager):
    vehicle = VehicleFactory(owner=team["customers"][5])
    VisitFactory(
        vehicle=vehicle,
        customer=vehicle.owner,
        status=Visit.Status.DELIVERED,
        checked_in_at=timezone.now() - timedelta(days=20, hours=3),
        delivered_at=timezone.now() - timedelta(days=20),
    )
    plan = reassignment.customers_reassign(
        source=team["leaving"],
        targets=[team["a"]],
        by=manager,
        filters=Filters(tier="vip"),
        reason="顾问离职",
    )
    assert plan.total == 3 and held(team["leaving"]) == 7
    since = timezone.localdate() - timedelta(days=60)
    plan = reassignment.customers_reassign(
        source=team["leaving"],
        targets=[team["a"]],
        by=manager,
        filters=Filters(visited_since=since),
        reason="顾问离职",
    )
    assert plan.total == 1 and Customer.objects.get(pk=team["customers"][5].pk).advisor == team["a"]


def test_merged_and_erased_customers_stay(team, manager):
    erased = team["customers"][0]
    Customer.objects.filter(pk=erased.pk).update(erased_at=timezone.now())
    merged = team["customers"][1]
    Customer.objects.filter(pk=merged.pk).update(merged_into=team["customers"][2])
    plan = reassignment.customers_reassign(
        source=team["leaving"], targets=[team["a"]], by=manager, reason="顾问离职"
    )
    assert plan.total == 8 and held(team["leaving"]) == 2


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("no source", "请选择要移交客户的顾问"),
        ("no target", "请选择至少一位接手的顾问"),
        ("same", "不能是移交客户的顾问本人"),
        ("inactive", "已停用"),
        ("not an advisor", "不是服务顾问"),
        ("nothing", "没有符合条件的客户"),
        ("no reason", "请填写改派原因"),
        ("bad spread", "请选择分配方式"),
    ],
)
def test_bad_input_writes_nothing(team, manager, case, error):
    arguments = {
        "source": team["leaving"],
        "targets": [team["a"]],
        "by": manager,
        "reason": "顾问离职",
    }
    if case == "no source":
        arguments["source"] = None
    elif case == "no target":
        arguments["targets"] = []
    elif case == "same":
        arguments["targets"] = [team["a"], team["leaving"]]
    elif case == "inactive":
        arguments["targets"] = [team["a"], team["gone"]]
    elif case == "not an advisor":
        arguments["targets"] = [manager]
    elif case == "nothing":
        arguments["source"] = team["b"]
    elif case == "no reason":
        arguments["reason"] = "  "
    elif case == "bad spread":
        arguments["how"] = "random"
    with pytest.raises(ValidationError) as refused:
        reassignment.customers_reassign(**arguments)
    assert error in str(refused.value)
    assert held(team["leaving"]) == 10 and held(team["a"]) == 1
    assert not Customer.history.filter(history_change_reason__contains="顾问离职").exists()


@pytest.mark.parametrize("role", ["advisor", "agent"])
def test_only_managers_may(team, role):
    user = UserFactory(role=role, username=f"not-{role}")
    with pytest.raises(DomainError):
        reassignment.customers_reassign(
            source=team["leaving"], targets=[team["a"]], by=user, reason="顾问离职"
        )
    assert held(team["leaving"]) == 10


def test_the_page_previews_then_moves(client, manager, team):
    client.force_login(manager)
    page = client.get(URL).content.decode()
    assert 'id="advisor-loads"' in page and "已离职/停用" in page
    data = {
        "source": team["leaving"].pk,
        "targets": [team["a"].pk, team["b"].pk],
        "spread": "balanced",
        "tier": "",
        "reason": "顾问离职",
    }
    preview = client.post(URL, data)
    body = preview.content.decode()
    assert preview.status_code == 200 and 'id="reassign-confirm"' in body
    assert "<strong>10</strong>" in body and held(team["leaving"]) == 10  # nothing moved yet
    done = client.post(URL, {**data, "confirm": "1"}, follow=True)
    assert held(team["leaving"]) == 0
    assert "已将 王强 的 10 位客户改派：李娜 5 位、张伟 5 位。" in done.content.decode()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "请选择要移交客户的顾问"),
        ({"source": "abc", "targets": ["x"]}, "请从列表中选择移交客户的顾问"),
        ({"targets": ["999999"]}, "接手的顾问须是在职的服务顾问"),
        ({"targets": ["gone"]}, "接手的顾问须是在职的服务顾问"),
        ({"targets": ["leaving"]}, "不能是移交客户的顾问本人"),
        ({"visited_months": "-3"}, "error_1_id_visited_months"),
        ({"reason": "字" * 81}, "error_1_id_reason"),
        ({"source": "b"}, "没有符合条件的客户"),
    ],
)
def test_the_page_says_what_is_wrong_and_writes_nothing(client, manager, team, data, error):
    client.force_login(manager)
    base = {
        "source": team["leaving"].pk,
        "targets": [team["a"].pk],
        "spread": "balanced",
        "reason": "顾问离职",
        "confirm": "1",
    }
    names = {"gone": team["gone"].pk, "leaving": team["leaving"].pk, "b": team["b"].pk}
    data = {
        k: (
            [names.get(v, v) for v in value] if isinstance(value, list) else names.get(value, value)
        )
        for k, value in data.items()
    }
    posted = {**base, **data} if data else {"confirm": "1"}
    response = client.post(URL, posted)
    assert response.status_code == 400 and error in response.content.decode()
    assert held(team["leaving"]) == 10


@pytest.mark.parametrize("role", ["advisor", "agent"])
def test_the_page_is_the_managers(client, team, role):
    client.force_login(UserFactory(role=role, username=f"page-{role}"))
    assert client.get(URL).status_code == 403
    client.post(
        URL,
        {
            "source": team["leaving"].pk,
            "targets": [team["a"].pk],
            "confirm": "1",
            "spread": "balanced",
            "reason": "x",
        },
    )
    assert held(team["leaving"]) == 10
