"""Moving the holidays and the hours to the shop calendar keeps the shop's data: the
holiday rows, the calling hours (now the contact hours) and the complaint policy's business
hours and working days."""

from datetime import date, time

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("shopcalendar", None),
    ("followups", "0006_task_vehicle_unindexed"),
    ("complaints", "0002_role_permissions"),
]
AFTER = [
    ("shopcalendar", "0001_initial"),
    ("followups", "0007_calendar_moved"),
    ("complaints", "0003_business_hours_moved"),
]


@pytest.mark.django_db(transaction=True)
def test_the_move_keeps_holidays_and_hours():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE[1:]).apps
    old.get_model("followups", "Holiday").objects.create(day=date(2027, 2, 6), name="春节")
    old.get_model("followups", "FollowUpPolicy").objects.create(
        pk=1, calling_start=time(8, 30), calling_end=time(21, 0)
    )
    old.get_model("complaints", "ComplaintPolicy").objects.create(
        pk=1, business_start=time(8, 0), business_end=time(17, 30), work_days="123456"
    )

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    holiday = new.get_model("shopcalendar", "Holiday").objects.get()
    assert (holiday.day, holiday.name) == (date(2027, 2, 6), "春节")
    shop = new.get_model("shopcalendar", "ShopCalendar").objects.get(pk=1)
    assert (shop.contact_start, shop.contact_end) == (time(8, 30), time(21, 0))
    assert (shop.business_start, shop.business_end, shop.work_days) == (
        time(8, 0),
        time(17, 30),
        "123456",
    )
    content_type = new.get_model("contenttypes", "ContentType").objects.get(model="holiday")
    assert content_type.app_label == "shopcalendar"

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())  # back to the latest schema
    # What migrate's post_migrate does (SQLite drops the triggers of a table it rebuilds):
    # the tests after this one find the change-logging triggers in place.
    from followups import states
    from reports import daily

    states.ensure_triggers()
    daily.ensure_triggers()
