import pytest

from tests.factories import open_for_bookings


@pytest.fixture
def shop(db):
    """Bookings Monday to Saturday 09:00–12:00, 3 cars a slot, repair 2, two hours' lead;
    "now" is the Friday noon before the Monday two weeks ahead (tests.factories)."""
    return open_for_bookings()
