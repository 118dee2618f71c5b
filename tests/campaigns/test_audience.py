"""Who is in each kind of audience (campaigns.selectors.audience_of), on a small shop whose
answer is known: each type picks its customers and leaves the others out."""

from datetime import timedelta

import pytest

from campaigns.models import Campaign, CampaignVehicle
from campaigns.selectors import audience_of
from customers.models import Vehicle
from reports import metrics
from tests.campaigns.helpers import TODAY, at, campaign, customer_with_car
from tests.factories import CustomerFactory, VehicleFactory, VisitFactory
from visits.models import Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    """Customers by their last visit: recent (10 days), due (175 days: the 180-day interval
    falls due in 5), at risk (200 days), lapsed (400 days)."""
    return {
        "recent": customer_with_car(days_ago=10, model="帕萨特"),
        "due": customer_with_car(days_ago=175),
        "at_risk": customer_with_car(days_ago=200, model="途观L"),
        "lapsed": customer_with_car(days_ago=400),
    }


def _audience(**fields) -> set[int]:
    return set(audience_of(campaign(**fields), TODAY))


def _ids(shop, *names) -> set[int]:
    return {shop[name][0].pk for name in names}


def test_service_due_in_n_days(shop):
    assert _audience(audience="service_due", due_within_days=10) == _ids(shop, "due")
    assert _audience(audience="service_due", due_within_days=2) == set()


def test_at_risk_and_lapsed(shop):
    assert _audience(audience="at_risk") == _ids(shop, "at_risk")
    assert _audience(audience="lapsed") == _ids(shop, "lapsed")


def test_the_vehicle_model_matches_part_of_the_name(shop):
    assert _audience(audience="vehicle_model", vehicle_model="途观") == _ids(shop, "at_risk")
    assert _audience(audience="vehicle_model", vehicle_model="朗逸") == _ids(shop, "due", "lapsed")


def test_last_visit_range(shop):
    chosen = _audience(
        audience="last_visit",
        last_visit_from=TODAY - timedelta(days=250),
        last_visit_to=TODAY - timedelta(days=100),
    )
    assert chosen == _ids(shop, "due", "at_risk")


def test_value_tier_is_the_reports_tier(shop):
    from reports.dashboard import value_tiers

    frame = value_tiers(TODAY)["frame"]
    for tier in ("vip", "core", "regular", "low"):
        expected = set(frame[frame["tier"] == tier]["customer_id"].astype(int))
        assert _audience(audience="value_tier", value_tier=tier) == expected


def test_mileage_band_is_the_segments_band():
    owner = CustomerFactory(marketing_consent=True)
    vehicle = VehicleFactory(owner=owner, registration_date=TODAY - timedelta(days=400))
    for days_ago, km in ((300, 0), (200, 10000), (100, 20000), (20, 30000)):  # 100 km a day
        day = TODAY - timedelta(days=days_ago)
        VisitFactory(
            vehicle=vehicle,
            status=Visit.Status.DELIVERED,
            checked_in_at=at(day, 9),
            delivered_at=at(day, 11),
            odometer_km=km,
        )
    expected = set()
    for band in range(4):
        vehicles = metrics.qualifying_vehicles(TODAY, band)["vehicle_id"]
        owners = set(
            Vehicle.objects.filter(pk__in=list(vehicles)).values_list("owner_id", flat=True)
        )
        assert _audience(audience="mileage_band", mileage_band=band) == owners
        expected |= owners
    assert expected == {owner.pk}  # the car is in one band


def test_the_vin_list_reaches_the_current_owner_once_and_not_a_car_sold(shop):
    recall = campaign(kind="recall", audience="vin_list")
    owner, first = shop["due"]
    second = VehicleFactory(owner=owner)
    sold = VehicleFactory(owner=shop["recent"][0], is_active=False)
    for line, vehicle in enumerate((first, second, sold), start=1):
        CampaignVehicle.objects.create(campaign=recall, vehicle=vehicle, line=line)
    chosen = audience_of(recall, TODAY)
    assert chosen == {owner.pk: first.pk}


def test_merged_customers_are_left_out(shop):
    merged = shop["lapsed"][0]
    merged.merged_into = shop["due"][0]
    merged.save()
    assert _audience(audience="vehicle_model", vehicle_model="朗逸") == _ids(shop, "due")


def test_every_audience_type_has_a_selector():
    from campaigns import selectors

    assert set(selectors._AUDIENCES) == set(Campaign.Audience.values)
