"""The shop calendar: local midnight, contact hours and quiet hours, business hours across
weekends and holidays — the pure rules without a database, then as the rest of shopcrm
reads them (the administrator's hours and holidays)."""

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from shopcalendar import rules
from shopcalendar import selectors as calendar
from shopcalendar.models import Holiday, ShopCalendar

SHANGHAI = timezone.get_default_timezone()
FRIDAY = date(2026, 11, 20)
MONDAY = date(2026, 11, 23)
OFFICE = rules.Hours(time(9), time(18), "12345")
CONTACT = rules.Hours(time(9), time(20))


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)), SHANGHAI)


# ---------------------------------------------------------------- the rules, no database


def test_local_midnight_is_the_shops_whatever_zone_is_active():
    with timezone.override("UTC"):
        assert rules.start_of(MONDAY) == at(MONDAY, 0)
        assert rules.start_of(MONDAY).utcoffset() == timedelta(hours=8)
        assert rules.local_day(at(MONDAY, 0, 30)) == MONDAY  # 16:30 UTC the day before
    assert rules.day_span(FRIDAY, MONDAY) == (at(FRIDAY, 0), at(MONDAY + timedelta(days=1), 0))
    assert rules.end_of(MONDAY) == at(MONDAY + timedelta(days=1), 0)  # "to Monday": all of it


def test_contact_hours_and_the_next_contact_moment():
    assert rules.is_open(at(MONDAY, 9), CONTACT, set())
    assert not rules.is_open(at(MONDAY, 20), CONTACT, set())  # the end is quiet already
    assert not rules.is_open(at(MONDAY, 12), CONTACT, {MONDAY})
    assert rules.next_open_moment(at(MONDAY, 7), CONTACT, set()) == at(MONDAY, 9)
    assert rules.next_open_moment(at(MONDAY, 12), CONTACT, set()) == at(MONDAY, 12)
    tuesday = MONDAY + timedelta(days=1)
    assert rules.next_open_moment(at(MONDAY, 21), CONTACT, set()) == at(tuesday, 9)
    assert rules.next_open_moment(at(MONDAY, 21), CONTACT, {tuesday}) == at(
        MONDAY + timedelta(days=2), 9
    )


def test_sixty_days_of_holidays_stop_the_search():
    closed = {MONDAY + timedelta(days=n) for n in range(100)}
    found = rules.next_open_moment(at(MONDAY, 21), CONTACT, closed)
    assert found == rules.start_of(MONDAY + timedelta(days=rules.LOOK_AHEAD_DAYS + 1))


def test_business_hours_skip_the_weekend():
    assert rules.add_hours(at(FRIDAY, 17), 4, OFFICE, set()) == at(MONDAY, 12)
    assert rules.add_hours(at(date(2026, 11, 21), 10), 1, OFFICE, set()) == at(MONDAY, 10)
    assert rules.add_hours(at(FRIDAY, 7), 2, OFFICE, set()) == at(FRIDAY, 11)
    assert rules.hours_between(at(FRIDAY, 17), at(MONDAY, 12), OFFICE, set()) == 4
    assert rules.hours_between(at(MONDAY, 12), at(FRIDAY, 17), OFFICE, set()) == -4


def test_business_hours_skip_a_holiday():
    # Friday 17:00 + 4 h: 1 h on Friday, the weekend and Monday's holiday skipped, 3 h Tuesday
    assert rules.add_hours(at(FRIDAY, 17), 4, OFFICE, {MONDAY}) == at(
        MONDAY + timedelta(days=1), 12
    )
    # 24 business hours from Friday 09:00: Friday 9 h, Tuesday 9 h, Wednesday 6 h
    assert rules.add_hours(at(FRIDAY, 9), 24, OFFICE, {MONDAY}) == at(date(2026, 11, 25), 15)


# ---------------------------------------------------------------- as the shop set them


@pytest.mark.django_db
def test_the_administrators_hours_and_holidays():
    shop = ShopCalendar.current()  # 09:00–18:00 Monday to Friday; contact 09:00–20:00
    assert calendar.add_business_hours(at(FRIDAY, 17), 4) == at(MONDAY, 12)
    assert calendar.business_hours_between(at(FRIDAY, 17), at(MONDAY, 12)) == 4
    assert calendar.is_contact_time(at(MONDAY, 19)) and not calendar.is_contact_time(at(MONDAY, 21))
    assert calendar.next_contact_moment(at(MONDAY, 21)) == at(MONDAY + timedelta(days=1), 9)

    Holiday.objects.create(day=MONDAY + timedelta(days=1), name="店休")  # seen at once
    assert calendar.next_contact_moment(at(MONDAY, 21)) == at(MONDAY + timedelta(days=2), 9)
    assert calendar.add_business_hours(at(FRIDAY, 17), 4) == at(MONDAY, 12)
    assert calendar.add_business_hours(at(FRIDAY, 17), 13) == at(MONDAY + timedelta(days=2), 12)

    shop.work_days = "123456"  # Saturdays too
    shop.contact_end = time(21)
    shop.save()
    assert calendar.add_business_hours(at(FRIDAY, 17), 4) == at(date(2026, 11, 21), 12)
    assert calendar.is_contact_time(at(MONDAY, 20, 30))


@pytest.mark.django_db
def test_hours_that_end_before_they_start_are_refused():
    from django.db import IntegrityError, transaction

    shop = ShopCalendar.current()
    shop.contact_start, shop.contact_end = time(20), time(9)
    with pytest.raises(IntegrityError), transaction.atomic():
        shop.save()
    shop = ShopCalendar.current()
    shop.business_start, shop.business_end = time(18), time(18)
    with pytest.raises(IntegrityError), transaction.atomic():
        shop.save()
