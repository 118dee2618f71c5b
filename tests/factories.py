import random
from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from customers.models import Customer, Vehicle
from customers.validators import VIN_ALPHABET, vin_check_digit
from visits.models import Appointment, ServiceType, Visit

_rng = random.Random(7)


def valid_vin(serial: int | None = None) -> str:
    """A VIN with a correct check digit; the same serial always gives the same VIN."""
    serial = _rng.randrange(10**6) if serial is None else serial
    rng = random.Random(serial)
    body = "LSV" + "".join(rng.choice(VIN_ALPHABET) for _ in range(5)) + "0PA" + f"{serial:06d}"
    return body[:8] + vin_check_digit(body) + body[9:]


def wrong_check_digit(vin: str) -> str:
    wrong = "1" if vin[8] != "1" else "2"
    return vin[:8] + wrong + vin[9:]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if extracted:
            self.groups.add(Group.objects.get(name=extracted))
            if extracted == "admin":
                self.is_staff = self.is_superuser = True
        self.save()


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"客户{n}")
    phone = factory.Sequence(lambda n: f"+86139{n:08d}")


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    owner = factory.SubFactory(CustomerFactory)
    vin = factory.Sequence(lambda n: valid_vin(n))
    plate = factory.Sequence(lambda n: f"粤B{n:05d}")
    brand = "大众"
    model = "朗逸"


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    vehicle = factory.SubFactory(VehicleFactory)
    customer = factory.LazyAttribute(lambda visit: visit.vehicle.owner)
    ro_number = factory.Sequence(lambda n: f"RO20260101{n:05d}")
    service_type = ServiceType.MAINTENANCE
    status = Visit.Status.CHECKED_IN
    checked_in_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    promised_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=2))
    first_promised_at = factory.LazyAttribute(lambda visit: visit.promised_at)
    estimated_amount = Decimal("500.00")


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    vehicle = factory.SubFactory(VehicleFactory)
    customer = factory.LazyAttribute(lambda appointment: appointment.vehicle.owner)
    scheduled_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    service_type = ServiceType.MAINTENANCE


def contact_all_day():
    """Calls and messages may go out whenever a test runs (quiet hours are tested on their
    own)."""
    from datetime import time

    from shopcalendar.models import ShopCalendar

    calendar = ShopCalendar.current()
    calendar.contact_start, calendar.contact_end = time(0, 0), time(23, 59, 59)
    calendar.save()


def open_for_bookings(weeks_ahead: int = 2) -> dict:
    """Bookings Monday to Saturday 09:00–12:00 in one-hour slots, 3 cars a slot, repair 2,
    two hours' lead: {"monday": the Monday ``weeks_ahead`` weeks on, "now": the Friday noon
    before it}."""
    from datetime import time

    from bookings.models import BookingCapacity, ServiceTypeLimit
    from shopcalendar import selectors as calendar
    from shopcalendar.rules import at

    capacity = BookingCapacity.current()
    capacity.days, capacity.opens_at, capacity.closes_at = "123456", time(9), time(12)
    capacity.slot_minutes, capacity.cars_per_slot, capacity.lead_minutes = 60, 3, 120
    capacity.days_ahead = 60
    capacity.save()
    ServiceTypeLimit.objects.update_or_create(service_type="repair", defaults={"cars_per_slot": 2})
    ServiceTypeLimit.objects.filter(service_type="maintenance").delete()
    calendar.clear_cache()
    today = timezone.localdate()
    monday = today + timedelta(days=7 * weeks_ahead - today.weekday())
    return {"monday": monday, "now": at(monday - timedelta(days=3), time(12))}


def api_key(user, **options) -> str:
    """A new API token of ``user``: the key its client sends (only its hash is stored)."""
    from api.services import api_token_create

    return api_token_create(user=user, **options)[1]
