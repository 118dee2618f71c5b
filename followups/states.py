"""The vehicle and customer states (followups.models.VehicleState, CustomerState).

A vehicle's state from one visit day to the next: its visit count, the customer, odometer
and day of its latest delivered visit, its average daily mileage and predicted next service
(METRICS.md's rule, the one definition of it: ``predicted_next_service`` below). A customer's
state: the day of their latest delivered visit. The maintenance-reminder and win-back sweeps
read the states in force today; METRICS.md's churn, at-risk, retention and segment figures
as of a day T read the ones in force at T, a few hundred thousand narrow rows, instead of
sorting the whole visit history.

Triggers on visits (a delivered visit added, changed, moved or removed), on vehicles (the
registration date) and on the follow-up policy (the service intervals) log what they touch
in ``followups_statechange`` (followups.statelog declares what they watch); ``refresh()``
rebuilds those vehicles' and customers' states from their visits (the same pandas code as a
full rebuild) and is called before every read, so a figure never trails the data, and by a
beat task every minute, so reads rarely wait.
"""

import uuid
from datetime import date

import pandas as pd
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from shopcrm import bulk, triggers
from visits.models import Visit

from . import statelog
from .models import (
    STATE_LOG_PROXIES,
    STATE_TRIGGERS,
    CustomerState,
    FollowUpPolicy,
    StateChange,
    VehicleState,
)

# Above this many vehicles and customers to redo, one full rebuild is quicker (and keeps the
# IN lists short).
FULL_REBUILD_ABOVE = 20_000
VERSION_KEY = "followups:states:version"
LOCK_KEY = 7_114_001  # one refresher at a time (shopcrm.bulk.take_log)


# ---------------------------------------------------------------- the rules (pure)


def average_daily_km(frame: pd.DataFrame) -> pd.Series:
    """METRICS.md: odometer of the visit / days from registration to its delivery day;
    undefined without registration date or odometer, or with zero (or negative) days."""
    days = (frame["last_day"] - frame["registration_date"]).dt.days.astype("float64")
    odometer = frame["odometer_km"].astype("float64")
    return (odometer / days).where((days > 0) & odometer.notna())


def predicted_next_service(frame: pd.DataFrame, policy: FollowUpPolicy) -> pd.Series:
    """METRICS.md: the last visit date plus the interval in days, or sooner, the whole days
    needed to cover the interval in km at the vehicle's average daily mileage."""
    by_km = (policy.service_interval_km / frame["avg_daily_km"]).where(frame["avg_daily_km"] > 0)
    days = by_km.fillna(policy.service_interval_days).clip(upper=policy.service_interval_days)
    return frame["last_day"] + pd.to_timedelta(days.astype("int64"), unit="D")


def vehicle_states(visits: pd.DataFrame, policy: FollowUpPolicy) -> pd.DataFrame:
    """From delivered visits (id, vehicle_id, customer_id, day in the shop's time zone,
    odometer_km, registration_date), in the order of their delivery (time, then id): one
    row per vehicle and visit day, the latest visit of that day."""
    frame = visits.assign(
        last_day=pd.to_datetime(visits["day"]),
        visit_count=visits.groupby("vehicle_id").cumcount() + 1,
        registration_date=pd.to_datetime(visits["registration_date"]),
    )
    frame = frame.rename(columns={"id": "visit_id"})
    frame = frame.drop_duplicates(["vehicle_id", "last_day"], keep="last")
    frame["next_day"] = frame.groupby("vehicle_id")["last_day"].shift(-1)
    frame["avg_daily_km"] = average_daily_km(frame)
    frame["due_day"] = predicted_next_service(frame, policy)
    return frame[
        [
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
        ]
    ]


def customer_states(visits: pd.DataFrame) -> pd.DataFrame:
    """From delivered visits (customer_id, day): one row per customer and visit day."""
    frame = pd.DataFrame(
        {"customer_id": visits["customer_id"], "last_day": pd.to_datetime(visits["day"])}
    )
    frame = frame.drop_duplicates().sort_values(["customer_id", "last_day"])
    frame["next_day"] = frame.groupby("customer_id")["last_day"].shift(-1)
    return frame


# ---------------------------------------------------------------- keeping them current


def refresh() -> int:
    """Rebuild the states of every vehicle and customer whose visits changed since the last
    refresh (everything after a truncate or a policy change). Returns the log rows taken."""
    if not StateChange.objects.exists():
        return 0
    with transaction.atomic():
        # First, so that creating the policy row (its first use) is logged before the take.
        policy = FollowUpPolicy.current()
        changes = _take_changes()
        if not changes:
            return 0
        vehicles = {vehicle for vehicle, _customer in changes if vehicle is not None}
        customers = {customer for _vehicle, customer in changes if customer is not None}
        everything = any(vehicle is None and customer is None for vehicle, customer in changes)
        if everything or len(vehicles) + len(customers) > FULL_REBUILD_ABOVE:
            _rebuild_vehicles(None, policy)
            _rebuild_customers(None)
        else:
            _rebuild_vehicles(vehicles, policy)
            _rebuild_customers(customers)
        # A new version now (this transaction must not read points cached from the old
        # states) and again at commit (a point another process cached meanwhile from the
        # states it saw is not read afterwards).
        _new_version()
        transaction.on_commit(_new_version)
        return len(changes)


def _new_version() -> None:
    cache.set(VERSION_KEY, uuid.uuid4().hex, None)


def version() -> str:
    """Changes whenever a refresh changed the states: part of the cache key of any figure
    computed from them (the dashboard's churn at past month ends)."""
    return cache.get_or_set(VERSION_KEY, lambda: uuid.uuid4().hex, None)


def rebuild() -> None:
    """Everything from scratch (the benchmark after its COPY load; repairs by hand)."""
    StateChange.objects.create()
    refresh()


def _take_changes() -> list[tuple]:
    # One refresher at a time, and it takes the log rows it saw: a change committed
    # meanwhile stays for the next one, with its visits.
    return bulk.take_log(StateChange, ["vehicle_id", "customer_id"], lock_key=LOCK_KEY)


def _delivered(ids: set | None, field: str):
    visits = Visit.objects.filter(status=Visit.Status.DELIVERED, delivered_at__isnull=False)
    if ids is not None:
        visits = visits.filter(**{f"{field}__in": sorted(ids)})
    # The shop's calendar day comes from the database, ready as a date: a full rebuild reads
    # every delivered visit, and parsing a million time stamps costs more than the query.
    return visits.annotate(day=TruncDate("delivered_at", tzinfo=timezone.get_default_timezone()))


def _frame(queryset, columns: list[str]) -> pd.DataFrame:
    """The queryset's SQL on a plain cursor: no model-field conversion of every value."""
    sql, params = queryset.values_list(*columns).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return pd.DataFrame(rows, columns=[name.replace("vehicle__", "") for name in columns])


def _visit_columns() -> list[str]:
    """What the states read of a delivered visit (followups.statelog.VISIT_FIELDS, as the
    frame's columns; the day stands for the delivery time) and of its vehicle."""
    columns = {
        "status": None,
        "delivered_at": "day",
        "vehicle": "vehicle_id",
        "customer": "customer_id",
        "odometer_km": "odometer_km",
    }
    read = [columns[name] for name in statelog.VISIT_FIELDS if columns[name]]
    return ["id", *read, *(f"vehicle__{name}" for name in statelog.VEHICLE_FIELDS)]


def _rebuild_vehicles(ids: set | None, policy: FollowUpPolicy) -> None:
    visits = _frame(
        # In the order METRICS.md's "latest visit" uses: by delivery time, then id.
        _delivered(ids, "vehicle_id").order_by("vehicle_id", "delivered_at", "id"),
        _visit_columns(),
    )
    if ids is None:
        bulk.empty(VehicleState)
    else:
        VehicleState.objects.filter(vehicle_id__in=sorted(ids)).delete()
    if len(visits):
        bulk.load_frame(VehicleState, vehicle_states(visits, policy))


def _rebuild_customers(ids: set | None) -> None:
    visits = _frame(_delivered(ids, "customer_id").order_by().distinct(), ["customer_id", "day"])
    if ids is None:
        bulk.empty(CustomerState)
    else:
        CustomerState.objects.filter(customer_id__in=sorted(ids)).delete()
    if len(visits):
        bulk.load_frame(CustomerState, customer_states(visits))


# ---------------------------------------------------------------- the triggers


def ensure_triggers(using=connection) -> bool:
    """Put back any change-logging trigger that is missing (followups.statelog; created by
    the migrations on PostgreSQL, after every migrate on SQLite, which drops a table's
    triggers whenever a migration rebuilds it), and log a full rebuild, since changes made
    without them went unlogged. Returns whether anything was missing."""
    if StateChange._meta.db_table not in using.introspection.table_names():
        return False  # migrated back below this app
    if not triggers.ensure_installed(STATE_TRIGGERS, STATE_LOG_PROXIES, using):
        return False
    with using.cursor() as cursor:
        table = StateChange._meta.db_table
        cursor.execute(f"INSERT INTO {table} (vehicle_id, customer_id) VALUES (NULL, NULL)")
    return True


# ---------------------------------------------------------------- reading


def latest_vehicle_states(*, due_from: date, due_to: date) -> list[VehicleState]:
    """Each vehicle's current state whose predicted next service falls from ``due_from`` to
    ``due_to`` (brought up to date first)."""
    refresh()
    return list(
        VehicleState.objects.filter(
            next_day__isnull=True, due_day__gte=due_from, due_day__lte=due_to
        ).order_by("due_day", "vehicle_id")
    )


def latest_customer_states(*, last_from: date, last_before: date):
    """Customers whose last delivered visit (to this day) falls from ``last_from`` to the day
    before ``last_before`` (brought up to date first)."""
    refresh()
    return CustomerState.objects.filter(
        next_day__isnull=True, last_day__gte=last_from, last_day__lt=last_before
    )


def last_visit_day() -> Subquery:
    """For a customer (the outer query): the day of their last delivered visit."""
    return Subquery(
        CustomerState.objects.filter(customer_id=OuterRef("pk"), next_day__isnull=True).values(
            "last_day"
        )[:1]
    )


def next_services(*, vehicle_ids) -> dict:
    """{vehicle id: predicted next service day} of the vehicles' current states (vehicles
    never delivered are left out)."""
    refresh()
    return dict(
        VehicleState.objects.filter(
            vehicle_id__in=list(vehicle_ids), next_day__isnull=True
        ).values_list("vehicle_id", "due_day")
    )


def as_of_rows(as_of: date) -> tuple[str, list]:
    """The WHERE clause that picks the state in force on ``as_of``."""
    return "last_day <= %s AND (next_day IS NULL OR next_day > %s)", [as_of, as_of]
