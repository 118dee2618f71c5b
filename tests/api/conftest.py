import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import UserFactory, api_key


@pytest.fixture(autouse=True)
def fresh_throttle_counts():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def dms_user(db):
    return UserFactory(role="dms_client", username="dms-main")


@pytest.fixture
def dms(dms_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(dms_user)}")
    client.user = dms_user
    return client


def post(client, endpoint, payload, **extra):
    return client.post(f"/api/v1/sync/{endpoint}/", payload, format="json", **extra)
