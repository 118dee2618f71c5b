"""The state tables behind churn, retention, segments and the reminder and win-back sweeps
(followups/states.py, declared in followups/statelog.py): every change
that moves them is logged by a trigger, a read brings them up to date first, and the
incremental refresh gives exactly what a rebuild from scratch gives."""

import io
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.db import connection

from customers.models import Customer, Vehicle
from customers.services import customer_merge
from followups import states
from followups.models import (
    STATE_LOG_PROXIES,
    CustomerState,
    FollowUpPolicy,
    StateChange,
    VehicleState,
    VisitStateLog,
)
from tests.factories import valid_vin
from tests.reports.test_correctness import TODAY, expected_churn, moment
from visits.models import Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def snapshot():
    vehicles = set(
        VehicleState.objects.values_list(
            "vehicle_id",
            "customer_id",
            "visit_id",
            "last_day",
            "next_day",
            "visit_count",
            "odometer_km",
            "registration_date",
            "avg_daily_km",
            "due_day",
        )
    )
    customers = set(CustomerState.objects.values_list("customer_id", "last_day", "next_day"))
    return vehicles, customers


def rebuilt():
    states.rebuild()
    return snapshot()


def churn_of(reader, as_of=TODAY):
    answer = reader.get("/api/v1/reports/churn/", {"as_of": as_of}).json()
    return answer["base"], answer["lapsed"], answer["at_risk"]


def delivered_visit(vehicle, day, *, hour=10, odometer=30_000, customer=None, n=0):
    checked_in = moment(day, hour)
    return Visit.objects.create(
        vehicle=vehicle,
        customer=customer or vehicle.owner,
        ro_number=f"RO-S-{vehicle.pk}-{day}-{hour}-{n}",
        service_type="repair",
        status=Visit.Status.DELIVERED,
        checked_in_at=checked_in,
        delivered_at=checked_in + timedelta(hours=2),
        odometer_km=odometer,
    )


def test_every_kind_of_change_is_picked_up_and_equals_a_rebuild(shop, reader):
    states.refresh()
    assert not StateChange.objects.exists()
    lapsed_customer = (
        CustomerState.objects.filter(next_day__isnull=True, last_day__lt=TODAY - timedelta(400))
        .values_list("customer_id", flat=True)
        .first()
    )
    assert lapsed_customer is not None
    vehicle = Vehicle.objects.filter(owner_id=lapsed_customer).first() or Vehicle.objects.create(
        owner_id=lapsed_customer, vin=valid_vin(99_000), plate="粤B99000"
    )
    before = churn_of(reader)

    # A lapsed customer comes back today: one fewer lapsed, at once (the read refreshes).
    comeback = delivered_visit(vehicle, TODAY)
    after = churn_of(reader)
    assert after[1] == before[1] - 1
    assert after == expected_churn(TODAY)

    # Delivered later, moved to another vehicle and customer, cancelled, deleted.
    comeback.delivered_at += timedelta(hours=3)
    comeback.save()
    other = Vehicle.objects.exclude(pk=vehicle.pk).exclude(owner_id=lapsed_customer).first()
    Visit.objects.filter(pk=comeback.pk).update(vehicle=other, customer=other.owner)
    victim = Visit.objects.filter(status=Visit.Status.DELIVERED).order_by("pk")[5]
    Visit.objects.filter(pk=victim.pk).update(status=Visit.Status.CANCELLED)
    delivered_visit(other, TODAY - timedelta(days=3), n=1).delete()
    assert churn_of(reader) == expected_churn(TODAY)

    # A registration date, an odometer, then two customers merged.
    registered = Vehicle.objects.filter(registration_date__isnull=False).first()
    registered.registration_date -= timedelta(days=400)
    registered.save()
    odometer_read_wrong = VehicleState.objects.exclude(vehicle_id=registered.pk).filter(
        next_day=None, avg_daily_km__gt=0
    )[0]
    Visit.objects.filter(
        vehicle_id=odometer_read_wrong.vehicle_id, status=Visit.Status.DELIVERED
    ).update(odometer_km=7)
    source, target = Customer.objects.filter(visits__isnull=False).distinct()[:2]
    customer_merge(source=source, target=target)
    assert churn_of(reader) == expected_churn(TODAY)

    incremental = snapshot()
    assert incremental == rebuilt()


def test_a_policy_change_moves_every_predicted_service_date(shop, reader):
    states.refresh()
    policy = FollowUpPolicy.current()
    states.refresh()
    policy.service_interval_km = 2_000
    policy.service_interval_days = 90
    policy.save()
    assert StateChange.objects.filter(vehicle_id=None, customer_id=None).exists()
    assert churn_of(reader) == expected_churn(TODAY, interval_km=2_000, interval_days=90)
    # Other policy fields (churn days, calling hours …) do not rebuild anything; churn days
    # shorter than the 180 at-risk days leave only the overdue vehicles at risk.
    policy.churn_days = 100
    policy.save()
    assert not StateChange.objects.exists()
    assert churn_of(reader) == expected_churn(
        TODAY, interval_km=2_000, interval_days=90, churn_days=100
    )


def test_unrelated_visit_changes_log_nothing(shop):
    states.refresh()
    visit = Visit.objects.filter(status=Visit.Status.DELIVERED).first()
    visit.concern = "异响"
    visit.save()
    checked_in = Visit.objects.exclude(status=Visit.Status.DELIVERED).first()
    checked_in.odometer_km = 1
    checked_in.save()
    assert not StateChange.objects.exists()


def installed(proxies) -> set[str]:
    return {
        trigger.name
        for proxy in proxies
        for trigger in proxy._meta.triggers
        if trigger.get_installation_status(proxy)[0] == "INSTALLED"
    }


def test_missing_triggers_are_put_back_with_a_full_rebuild(db):
    declared = {trigger.name for proxy in STATE_LOG_PROXIES for trigger in proxy._meta.triggers}
    assert installed(STATE_LOG_PROXIES) == declared == {t.name for t in states.STATE_TRIGGERS}
    assert not states.ensure_triggers()  # the migrations made them all
    insert = next(t for t in VisitStateLog._meta.triggers if t.name == "fu_state_visit_insert")
    insert.uninstall(VisitStateLog)  # a restore without triggers, say
    StateChange.objects.all().delete()
    assert installed(STATE_LOG_PROXIES) == declared - {"fu_state_visit_insert"}
    assert states.ensure_triggers()
    assert installed(STATE_LOG_PROXIES) == declared
    assert StateChange.objects.filter(vehicle_id=None, customer_id=None).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_refreshers_at_once_do_not_collide(shop):
    states.refresh()
    vehicles = list(Vehicle.objects.all()[:30])
    for n, vehicle in enumerate(vehicles):
        delivered_visit(vehicle, TODAY - timedelta(days=n), n=n)
    barrier = threading.Barrier(2)
    errors, taken = [], []

    def refresher():
        try:
            barrier.wait()
            taken.append(states.refresh())
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(taken) == len(vehicles)  # each logged change taken once
    assert snapshot() == rebuilt()


def test_the_sqlite_development_database_keeps_them_current_too(tmp_path):
    """run.sh without DATABASE_URL uses SQLite: the same triggers exist there (its own
    syntax) and a read sees a visit delivered a moment ago."""
    script = """
from datetime import date, timedelta
from django.utils import timezone
from customers.models import Customer, Vehicle
from django.db import connection
from followups import states
from reports import daily, metrics
from visits.models import Visit
with connection.cursor() as cursor:
    cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
    present = {name for (name,) in cursor.fetchall()}
wanted = {t.name for t in (*states.STATE_TRIGGERS, *daily.DAY_TRIGGERS) if t.sqlite()}
assert wanted <= present and len(wanted) == 21, sorted(wanted - present)
assert not states.ensure_triggers() and not daily.ensure_triggers()
customer = Customer.objects.create(name="测试", phone="+8613700000001")
vehicle = Vehicle.objects.create(owner=customer, vin="LSVAM4187C2184847", plate="粤A12345",
                                 registration_date=timezone.localdate() - timedelta(days=900))
long_ago = timezone.now() - timedelta(days=500)
for n in range(4):
    Visit.objects.create(vehicle=vehicle, customer=customer, ro_number=f"R{n}",
        service_type="maintenance", status="delivered", checked_in_at=long_ago,
        delivered_at=long_ago + timedelta(days=n, hours=1), odometer_km=20000 + n)
today = timezone.localdate()
assert metrics.churn(today)["lapsed"] == 1, metrics.churn(today)
Visit.objects.create(vehicle=vehicle, customer=customer, ro_number="R9",
    service_type="maintenance", status="delivered", checked_in_at=timezone.now(),
    delivered_at=timezone.now(), odometer_km=30000)
figures = metrics.churn(today)
assert (figures["base"], figures["lapsed"]) == (1, 0), figures
assert metrics.segments(today)["vehicles"] == 1
# The period summary adds up the daily table there too, kept by SQLite's triggers.
figures = metrics.summary(metrics.Period(today - timedelta(days=600), today))
assert (figures["visits"], figures["on_time_delivery_rate"]) == (5, None), figures
assert metrics.summary(metrics.Period(today, today))["visits"] == 1
print("ok")
"""
    env = {
        "PATH": "/usr/bin:/bin",
        "SHOPCRM_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "shopcrm.settings",
    }
    root = Path(__file__).resolve().parents[2]
    manage = [sys.executable, str(root / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], cwd=root, env=env, check=True, timeout=300)
    result = subprocess.run(
        [*manage, "shell", "-c", script],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_the_beat_refreshes_every_minute(shop, settings):
    from followups.tasks import refresh_states

    entry = settings.CELERY_BEAT_SCHEDULE["followups-refresh-states"]
    assert (entry["task"], entry["schedule"]) == ("followups.tasks.refresh_states", 60.0)
    assert refresh_states.delay().get() > 0  # the shop's visits, logged by the triggers
    assert refresh_states.delay().get() == 0  # nothing new
    assert snapshot() == rebuilt()


def test_cached_past_churn_points_follow_the_data(shop, django_capture_on_commit_callbacks):
    from reports import dashboard

    with django_capture_on_commit_callbacks(execute=True):
        before = dashboard.churn_over_time(TODAY)
    month_end = date.fromisoformat(before[-2]["as_of"])  # the end of last month
    assert dashboard.churn_over_time(TODAY)[-2] == before[-2]  # cached, same
    customer = Customer.objects.create(name="新客户", phone="+8613700009999")
    vehicle = Vehicle.objects.create(owner=customer, vin=valid_vin(99_500), plate="粤B99500")
    with django_capture_on_commit_callbacks(execute=True):
        delivered_visit(vehicle, month_end - timedelta(days=2))
        after = dashboard.churn_over_time(TODAY)
    assert after[-2]["base"] == before[-2]["base"] + 1
    assert after[-2]["base"] == expected_churn(month_end)[0]


def test_cached_churn_segments_and_value_tiers_follow_the_data(
    shop, django_capture_on_commit_callbacks
):
    """The dashboard caches them under the states' version (issue 16): the same figures
    as computed afresh, before and after a change."""
    from reports import dashboard, metrics

    def cached():
        with django_capture_on_commit_callbacks(execute=True):
            return (
                dashboard.churn_of(TODAY),
                dashboard.segments_of(TODAY),
                dashboard.value_tier_counts(TODAY),
            )

    def fresh():
        return metrics.churn(TODAY), metrics.segments(TODAY), dashboard.value_tiers(TODAY)["tiers"]

    before = cached()
    assert before == fresh() and cached() == before
    customer = Customer.objects.create(name="新客户", phone="+8613700009998")
    vehicle = Vehicle.objects.create(owner=customer, vin=valid_vin(99_501), plate="粤B99501")
    with django_capture_on_commit_callbacks(execute=True):
        delivered_visit(vehicle, TODAY - timedelta(days=3))
    after = cached()
    assert after == fresh()
    assert after[0]["base"] == before[0]["base"] + 1
    assert after[1]["vehicles"] == before[1]["vehicles"] + 1
    assert sum(t["customers"] for t in after[2]) == sum(t["customers"] for t in before[2]) + 1


def test_the_rebuild_command(shop):
    from django.core.management import call_command

    states.refresh()
    expected = snapshot()
    VehicleState.objects.all().delete()
    out = io.StringIO()
    call_command("rebuild_report_states", stdout=out)
    assert snapshot() == expected
    assert "vehicle and" in out.getvalue()
