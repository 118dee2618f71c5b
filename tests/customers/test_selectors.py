"""The desk's search box against PostgreSQL: every search path finds its record."""

import pytest

from customers.selectors import customer_get, search
from tests.factories import CustomerFactory, VehicleFactory, VisitFactory
from visits.selectors import desk_search

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def records():
    owner = CustomerFactory(name="欧阳娜娜", phone="+8613812345678")
    vehicle = VehicleFactory(owner=owner, plate="粤BD12345")
    visit = VisitFactory(vehicle=vehicle, ro_number="RO202611230007")
    other = VehicleFactory(plate="京A99999")
    return owner, vehicle, visit, other


@pytest.mark.parametrize(
    "query",
    ["粤BD12345", "粤b d12345", "粤Ｂ·Ｄ12345", "BD12345", "D12345"],
)
def test_plate_in_any_spelling_or_without_province(records, query):
    _owner, vehicle, _visit, other = records
    found = search(query=query).vehicles
    assert vehicle in found and other not in found


def test_full_vin_and_last_six(records):
    _owner, vehicle, _visit, other = records
    assert search(query=vehicle.vin.lower()).vehicles == [vehicle]
    assert vehicle in search(query=vehicle.vin[-6:]).vehicles
    assert other not in search(query=vehicle.vin[-6:]).vehicles


@pytest.mark.parametrize("query", ["13812345678", "138 1234 5678", "+8613812345678", "5678"])
def test_phone_or_its_last_four(records, query):
    owner = records[0]
    assert owner in search(query=query).customers


def test_name_prefix(records):
    owner = records[0]
    assert search(query="欧阳").customers == [owner]
    assert search(query="欧阳娜娜").customers == [owner]
    assert search(query="娜娜").customers == []  # prefix, not substring: stays fast


def test_ro_number(records):
    visit = records[2]
    assert desk_search(query="ro202611230007").visits == [visit]
    assert desk_search(query="202611230007").visits == [visit]
    assert search(query="202611230007").visits == []  # customers and vehicles only


def test_merged_customers_are_not_found(records, manager):
    from customers.services import customer_merge

    owner = records[0]
    customer_merge(source=owner, target=CustomerFactory(), by=manager)
    assert search(query="欧阳").customers == []


@pytest.mark.parametrize("query", ["", "   ", "%", "_", "'; drop table x; --", "粤", "a" * 300])
def test_odd_queries_find_nothing_and_never_fail(records, query):
    results = search(query=query)
    assert results.customers == [] or all(c.name for c in results.customers)


def test_search_is_a_fixed_number_of_queries(records, django_assert_max_num_queries):
    CustomerFactory.create_batch(5, name="欧阳锋")
    with django_assert_max_num_queries(5):
        results = search(query="欧阳")
        for customer in results.customers:
            list(customer.vehicles.all())


def test_customer_page_loads_vehicles_and_visits_together(records, django_assert_num_queries):
    owner = records[0]
    with django_assert_num_queries(3):
        customer = customer_get(pk=owner.pk)
        assert [v.plate for v in customer.vehicles.all()] == ["粤BD12345"]
        assert len(customer.visits.all()) == 1
