import pytest
from django.utils import timezone

from tests.campaigns.helpers import NOW
from tests.factories import contact_all_day


@pytest.fixture(autouse=True)
def noon(monkeypatch, db):
    """Today's noon in the shop: "today + N days" never crosses midnight mid-test."""
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    contact_all_day()
    return NOW
