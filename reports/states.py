"""The summary tables behind the as-of figures (reports.models.VehicleState, CustomerState).

A vehicle's state from one visit day to the next: its visit count, the customer, odometer
and day of its latest delivered visit, its average daily mileage and predicted next service.
A customer's state: the day of their latest delivered visit. METRICS.md's churn, at-risk,
retention and segment figures as of a day T read the one state per vehicle or customer in
force at T, a few hundred thousand narrow rows, instead of sorting the whole visit history.

Triggers on visits (a delivered visit added, changed, moved or removed), on vehicles (the
registration date) and on the follow-up policy (the service intervals) log what they touch
in ``reports_statechange``; ``refresh()`` rebuilds those vehicles' and customers' states from
their visits (the same pandas code as a full rebuild) and is called by every read, so a
figure never trails the data, and by a beat task every minute, so reads rarely wait.
"""

import uuid
from datetime import date

import pandas as pd
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models.functions import TruncDate
from django.utils import timezone

from followups.models import FollowUpPolicy
from visits.models import Visit

from .models import CustomerState, StateChange, VehicleState

# Above this many vehicles and customers to redo, one full rebuild is quicker (and keeps the
# IN lists short).
FULL_REBUILD_ABOVE = 20_000
VERSION_KEY = "reports:states:version"
LOCK_KEY = 7_114_001  # pg_advisory_xact_lock: one refresher at a time

VISIT_COLUMNS = ["status", "delivered_at", "vehicle_id", "customer_id", "odometer_km"]
TRIGGERS = [
    "reports_visit_insert",
    "reports_visit_truncate",  # PostgreSQL only (SQLite has no TRUNCATE)
    "reports_visit_update",
    "reports_visit_delete",
    "reports_vehicle_registration",
    "reports_policy_insert",
    "reports_policy_update",
]


# ---------------------------------------------------------------- the rules (pure)


def average_daily_km(frame: pd.DataFrame) -> pd.Series:
    """METRICS.md: odometer of the visit / days from registration to its delivery day;
    undefined without registration date or odometer, or with zero (or negative) days."""
    days = (frame["last_day"] - frame["registration_date"]).dt.days.astype("float64")
    odometer = frame["odometer_km"].astype("float64")
    return (odometer / days).where((days > 0) & odometer.notna())


def predicted_next_service(frame: pd.DataFrame, policy: FollowUpPolicy) -> pd.Series:
    """METRICS.md (and followups.services.predicted_next_service, the same rule): the last
    visit date plus the interval in days, or sooner, the whole days needed to cover the
    interval in km at the vehicle's average daily mileage."""
    by_km = (policy.service_interval_km / frame["avg_daily_km"]).where(frame["avg_daily_km"] > 0)
    days = by_km.fillna(policy.service_interval_days).clip(upper=policy.service_interval_days)
    return frame["last_day"] + pd.to_timedelta(days.astype("int64"), unit="D")


def vehicle_states(visits: pd.DataFrame, policy: FollowUpPolicy) -> pd.DataFrame:
    """From delivered visits (vehicle_id, customer_id, day in the shop's time zone,
    odometer_km, registration_date), in the order of their delivery (time, then id): one
    row per vehicle and visit day, the latest visit of that day."""
    frame = visits.assign(
        last_day=pd.to_datetime(visits["day"]),
        visit_count=visits.groupby("vehicle_id").cumcount() + 1,
        registration_date=pd.to_datetime(visits["registration_date"]),
    )
    frame = frame.drop_duplicates(["vehicle_id", "last_day"], keep="last")
    frame["next_day"] = frame.groupby("vehicle_id")["last_day"].shift(-1)
    frame["avg_daily_km"] = average_daily_km(frame)
    frame["due_day"] = predicted_next_service(frame, policy)
    return frame[
        [
            "vehicle_id",
            "customer_id",
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
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One refresher at a time, and it takes the log rows it saw: a change committed
            # meanwhile stays for the next one, with its visits.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            cursor.execute("DELETE FROM reports_statechange RETURNING vehicle_id, customer_id")
            return cursor.fetchall()
        # SQLite: one writer at a time anyway.
        cursor.execute("SELECT max(id) FROM reports_statechange")
        (last,) = cursor.fetchone()
        if last is None:
            return []
        cursor.execute(
            "SELECT vehicle_id, customer_id FROM reports_statechange WHERE id <= %s", [last]
        )
        rows = cursor.fetchall()
        cursor.execute("DELETE FROM reports_statechange WHERE id <= %s", [last])
        return rows


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


def _rebuild_vehicles(ids: set | None, policy: FollowUpPolicy) -> None:
    visits = _frame(
        # In the order METRICS.md's "latest visit" uses: by delivery time, then id.
        _delivered(ids, "vehicle_id").order_by("vehicle_id", "delivered_at", "id"),
        ["vehicle_id", "customer_id", "day", "odometer_km", "vehicle__registration_date"],
    )
    if ids is None:
        _empty(VehicleState)
    else:
        VehicleState.objects.filter(vehicle_id__in=sorted(ids)).delete()
    if len(visits):
        _insert(VehicleState, vehicle_states(visits, policy))


def _rebuild_customers(ids: set | None) -> None:
    visits = _frame(_delivered(ids, "customer_id").order_by().distinct(), ["customer_id", "day"])
    if ids is None:
        _empty(CustomerState)
    else:
        CustomerState.objects.filter(customer_id__in=sorted(ids)).delete()
    if len(visits):
        _insert(CustomerState, customer_states(visits))


def _empty(model) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"TRUNCATE {model._meta.db_table}")
        else:
            cursor.execute(f"DELETE FROM {model._meta.db_table}")


def _insert(model, frame: pd.DataFrame) -> None:
    frame = frame.copy()
    for name in frame.columns:
        if name in ("odometer_km", "visit_count", "vehicle_id", "customer_id"):
            frame[name] = frame[name].astype("Int64")  # integers, missing as NA (not 1.0, NaN)
    columns = list(frame.columns)
    if connection.vendor == "postgresql":
        # CSV written by pandas (vectorised) into COPY: an empty unquoted field is NULL.
        text = frame.to_csv(index=False, header=False, date_format="%Y-%m-%d")
        connection.ensure_connection()
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(
                f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
            ) as copy,
        ):
            copy.write(text)
        return
    records = frame.astype(object).where(frame.notna(), None)
    model.objects.bulk_create(
        [
            model(
                **{
                    name: value.date() if isinstance(value, pd.Timestamp) else value
                    for name, value in zip(columns, row, strict=True)
                }
            )
            for row in records.itertuples(index=False)
        ],
        batch_size=500,
    )


# ---------------------------------------------------------------- the triggers


def _visit_changed(old: str, new: str, distinct: str) -> str:
    return " OR ".join(f"{old}.{c} {distinct} {new}.{c}" for c in VISIT_COLUMNS)


def _postgresql_sql() -> list[str]:
    changed = _visit_changed("OLD", "NEW", "IS DISTINCT FROM")
    log = "INSERT INTO reports_statechange (vehicle_id, customer_id)"
    return [
        f"""CREATE OR REPLACE FUNCTION reports_log_visit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN {log} VALUES (OLD.vehicle_id, OLD.customer_id); END IF;
  IF TG_OP <> 'DELETE' THEN {log} VALUES (NEW.vehicle_id, NEW.customer_id); END IF;
  RETURN NULL;
END $$""",
        f"""CREATE OR REPLACE FUNCTION reports_log_vehicle() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN {log} VALUES (NEW.id, NULL); RETURN NULL; END $$""",
        f"""CREATE OR REPLACE FUNCTION reports_log_everything() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN {log} VALUES (NULL, NULL); RETURN NULL; END $$""",
        "DROP TRIGGER IF EXISTS reports_visit_insert ON visits_visit",
        """CREATE TRIGGER reports_visit_insert AFTER INSERT ON visits_visit FOR EACH ROW
           WHEN (NEW.status = 'delivered') EXECUTE FUNCTION reports_log_visit()""",
        "DROP TRIGGER IF EXISTS reports_visit_update ON visits_visit",
        f"""CREATE TRIGGER reports_visit_update
           AFTER UPDATE OF {", ".join(VISIT_COLUMNS)} ON visits_visit FOR EACH ROW
           WHEN ((OLD.status = 'delivered' OR NEW.status = 'delivered') AND ({changed}))
           EXECUTE FUNCTION reports_log_visit()""",
        "DROP TRIGGER IF EXISTS reports_visit_delete ON visits_visit",
        """CREATE TRIGGER reports_visit_delete AFTER DELETE ON visits_visit FOR EACH ROW
           WHEN (OLD.status = 'delivered') EXECUTE FUNCTION reports_log_visit()""",
        "DROP TRIGGER IF EXISTS reports_visit_truncate ON visits_visit",
        """CREATE TRIGGER reports_visit_truncate AFTER TRUNCATE ON visits_visit
           FOR EACH STATEMENT EXECUTE FUNCTION reports_log_everything()""",
        "DROP TRIGGER IF EXISTS reports_vehicle_registration ON customers_vehicle",
        """CREATE TRIGGER reports_vehicle_registration
           AFTER UPDATE OF registration_date ON customers_vehicle FOR EACH ROW
           WHEN (OLD.registration_date IS DISTINCT FROM NEW.registration_date)
           EXECUTE FUNCTION reports_log_vehicle()""",
        "DROP TRIGGER IF EXISTS reports_policy_insert ON followups_followuppolicy",
        """CREATE TRIGGER reports_policy_insert AFTER INSERT ON followups_followuppolicy
           FOR EACH ROW EXECUTE FUNCTION reports_log_everything()""",
        "DROP TRIGGER IF EXISTS reports_policy_update ON followups_followuppolicy",
        """CREATE TRIGGER reports_policy_update
           AFTER UPDATE OF service_interval_km, service_interval_days ON followups_followuppolicy
           FOR EACH ROW WHEN (OLD.service_interval_km <> NEW.service_interval_km
                              OR OLD.service_interval_days <> NEW.service_interval_days)
           EXECUTE FUNCTION reports_log_everything()""",
    ]


def _sqlite_sql() -> list[str]:
    changed = _visit_changed("OLD", "NEW", "IS NOT")
    log = "INSERT INTO reports_statechange (vehicle_id, customer_id)"
    return [
        *(f"DROP TRIGGER IF EXISTS {name}" for name in TRIGGERS),
        f"""CREATE TRIGGER reports_visit_insert AFTER INSERT ON visits_visit FOR EACH ROW
           WHEN NEW.status = 'delivered'
           BEGIN {log} VALUES (NEW.vehicle_id, NEW.customer_id); END""",
        f"""CREATE TRIGGER reports_visit_update
           AFTER UPDATE OF {", ".join(VISIT_COLUMNS)} ON visits_visit FOR EACH ROW
           WHEN (OLD.status = 'delivered' OR NEW.status = 'delivered') AND ({changed})
           BEGIN {log} VALUES (OLD.vehicle_id, OLD.customer_id);
                 {log} VALUES (NEW.vehicle_id, NEW.customer_id); END""",
        f"""CREATE TRIGGER reports_visit_delete AFTER DELETE ON visits_visit FOR EACH ROW
           WHEN OLD.status = 'delivered'
           BEGIN {log} VALUES (OLD.vehicle_id, OLD.customer_id); END""",
        f"""CREATE TRIGGER reports_vehicle_registration
           AFTER UPDATE OF registration_date ON customers_vehicle FOR EACH ROW
           WHEN OLD.registration_date IS NOT NEW.registration_date
           BEGIN {log} VALUES (NEW.id, NULL); END""",
        f"""CREATE TRIGGER reports_policy_insert AFTER INSERT ON followups_followuppolicy
           BEGIN {log} VALUES (NULL, NULL); END""",
        f"""CREATE TRIGGER reports_policy_update
           AFTER UPDATE OF service_interval_km, service_interval_days ON followups_followuppolicy
           FOR EACH ROW WHEN OLD.service_interval_km <> NEW.service_interval_km
                            OR OLD.service_interval_days <> NEW.service_interval_days
           BEGIN {log} VALUES (NULL, NULL); END""",
    ]


def installed_triggers(using) -> set[str]:
    """The names of ours that exist (SQLite: all of them, not only ours)."""
    with using.cursor() as cursor:
        if using.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s)", [TRIGGERS])
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        return {name for (name,) in cursor.fetchall()}


def install_triggers(using=connection) -> bool:
    """Create the change-logging triggers where any is missing (a new database, or SQLite
    after a migration rebuilt a table, which drops its triggers), and log a full rebuild,
    since changes made without them went unlogged. Returns whether it did anything."""
    if StateChange._meta.db_table not in using.introspection.table_names():
        return False  # migrated back below this app
    wanted = (
        set(TRIGGERS)
        if using.vendor == "postgresql"
        else set(TRIGGERS) - {"reports_visit_truncate"}
    )
    if wanted <= installed_triggers(using):
        return False
    statements = _postgresql_sql() if using.vendor == "postgresql" else _sqlite_sql()
    with transaction.atomic(using=using.alias), using.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
        cursor.execute(
            "INSERT INTO reports_statechange (vehicle_id, customer_id) VALUES (NULL, NULL)"
        )
    return True


def after_migrate(sender, using="default", **kwargs):
    """post_migrate: the triggers exist whenever the schema does."""
    from django.db import connections

    from . import daily

    install_triggers(connections[using])
    daily.install_triggers(connections[using])


def as_of_rows(as_of: date) -> tuple[str, list]:
    """The WHERE clause that picks the state in force on ``as_of``."""
    return "last_day <= %s AND (next_day IS NULL OR next_day > %s)", [as_of, as_of]
