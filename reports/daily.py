"""The summary table behind the period figures (reports.models.DailyFigures).

Per delivery day (the shop's calendar), advisor and service type: how many visits were
delivered, promised, on time, by appointment, repairs, repairs that came back within 30 days,
reached by a post-service call within 72 hours; their survey responses (count, CSI and
dimension sums, alerts, promoters, detractors, NPS answers) and survey invitations (sent,
completed). METRICS.md's period rates are ratios of these sums, so a period's figures add up
at most a few thousand rows instead of joining its visits to four other tables.

On PostgreSQL, triggers on visits, responses, invitations, follow-up tasks and call attempts
log the delivery time of every visit whose day a change moves (``reports_daychange``),
including the earlier repairs of the same vehicle that a new repair check-in makes comebacks.
``refresh()`` redoes those days with the same grouped queries as a full rebuild; every read
calls it first, and the beat task every minute, so a figure never trails the data. Other
databases (SQLite in development) compute the same grouped figures for the period directly.
"""

from datetime import date, timedelta

import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, Exists, F, FloatField, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, TruncDate, TruncMonth
from django.utils import timezone

from shopcalendar.rules import start_of
from surveys.models import Dimension, SurveyInvitation, SurveyResponse
from visits.models import Visit

from . import states
from .models import DailyFigures, DayChange

LOCK_KEY = 7_114_002  # pg_advisory_xact_lock: one refresher at a time
KEY = ["day", "advisor_id", "service_type"]
# Above this many separate runs of days to redo, redo the whole span from first to last.
MAX_RUNS = 50
REPAIRS = ("repair", "warranty")  # metrics.REPAIRS, spelled for the triggers' SQL

COLUMNS = [
    field.name for field in DailyFigures._meta.concrete_fields if field.name not in ("id", *KEY)
]


# ---------------------------------------------------------------- computing the figures


def _delivered(prefix: str, runs: list[tuple[date, date]] | None) -> Q:
    """Delivered visits (through ``prefix``, e.g. "visit__") delivered within the runs of
    days (first, last), all of them if None."""
    q = Q(**{f"{prefix}status": Visit.Status.DELIVERED, f"{prefix}delivered_at__isnull": False})
    if runs is None:
        return q
    within = Q()
    for first, last in runs:
        within |= Q(
            **{
                f"{prefix}delivered_at__gte": start_of(first),
                f"{prefix}delivered_at__lt": start_of(last + timedelta(days=1)),
            }
        )
    return q & within


def _keyed(queryset, prefix: str):
    tz = timezone.get_default_timezone()
    if not prefix:
        return queryset.annotate(day=TruncDate("delivered_at", tzinfo=tz)).values(*KEY)
    return queryset.values(
        day=TruncDate(f"{prefix}delivered_at", tzinfo=tz),
        advisor_id=F(f"{prefix}advisor_id"),
        service_type=F(f"{prefix}service_type"),
    )


def figures(runs: list[tuple[date, date]] | None = None, **visit_filters) -> pd.DataFrame:
    """One row per day, advisor and service type (the KEY) with every column of
    DailyFigures, over the visits delivered within ``runs`` (every day if None) and
    matching ``visit_filters``: five grouped queries, each over one join at most."""
    from . import metrics

    visits = Visit.objects.filter(_delivered("", runs), **visit_filters).order_by()
    related = {f"visit__{name}": value for name, value in visit_filters.items()}
    frames = [
        _keyed(visits, "").annotate(
            visits=Count("pk"),
            promised=Count("pk", filter=Q(promised_at__isnull=False)),
            on_time=Count(
                "pk", filter=Q(promised_at__isnull=False, delivered_at__lte=F("promised_at"))
            ),
            by_appointment=Count("pk", filter=Q(by_appointment=True)),
            repairs=Count("pk", filter=Q(service_type__in=REPAIRS)),
        ),
        # Exists as a filter: one hash semi-join (in an aggregate's filter it would be a
        # subquery per visit).
        _keyed(
            visits.filter(service_type__in=REPAIRS).filter(Exists(metrics.came_back())), ""
        ).annotate(came_back=Count("pk")),
        _keyed(visits.filter(Exists(metrics.reached_within_72h())), "").annotate(
            contacted=Count("pk")
        ),
        _keyed(
            SurveyResponse.objects.filter(_delivered("visit__", runs), **related).order_by(),
            "visit__",
        ).annotate(
            responses=Count("pk"),
            csi_count=Count("csi"),
            csi_sum=Sum("csi"),
            alerts=Count("pk", filter=Q(is_alert=True)),
            promoters=Count("pk", filter=Q(nps_class="promoter")),
            detractors=Count("pk", filter=Q(nps_class="detractor")),
            nps_answered=Count("pk", filter=~Q(nps_class="")),
            **_dimension_aggregates(),
        ),
        _keyed(
            SurveyInvitation.objects.filter(
                _delivered("visit__", runs), sent_at__isnull=False, **related
            ).order_by(),
            "visit__",
        ).annotate(
            invitations_sent=Count("pk"),
            invitations_completed=Count("pk", filter=Q(status=SurveyInvitation.Status.COMPLETED)),
        ),
    ]
    merged = None
    for queryset in frames:
        frame = pd.DataFrame(list(queryset))
        if frame.empty:
            continue
        # Visits without an advisor: 0 while merging (user ids start at 1), null again after.
        frame["advisor_id"] = frame["advisor_id"].fillna(0).astype("int64")
        merged = frame if merged is None else merged.merge(frame, on=KEY, how="outer")
    if merged is None:
        return pd.DataFrame(columns=KEY + COLUMNS)
    for name in COLUMNS:
        if name not in merged:
            merged[name] = 0
        kind = "float64" if name.endswith("_sum") else "int64"
        merged[name] = merged[name].fillna(0).astype(kind)
    merged["advisor_id"] = merged["advisor_id"].astype("Int64").replace(0, pd.NA)
    return merged[KEY + COLUMNS].sort_values(KEY[:1]).reset_index(drop=True)


def _dimension_aggregates() -> dict:
    aggregates = {}
    for name in Dimension.values:
        score = Cast(KeyTextTransform(name, "dimension_scores"), FloatField())
        aggregates[f"{name}_count"] = Count(score)
        aggregates[f"{name}_sum"] = Sum(score)
    return aggregates


# ---------------------------------------------------------------- reading


def totals(period) -> dict:
    """The sums of every column over the period's delivery days, advisor and service type:
    from the table on PostgreSQL (brought up to date first), computed directly elsewhere."""
    if connection.vendor == "postgresql":
        refresh()
        sums = _rows(period).aggregate(**{name: Sum(name) for name in COLUMNS})
        return {name: value or 0 for name, value in sums.items()}
    frame = figures([(period.start, period.end)], **_filters(period))
    return {name: frame[name].sum().item() if len(frame) else 0 for name in COLUMNS}


def grouped(period, by: str) -> pd.DataFrame:
    """The same sums per ``by``: "month" (the first day of the delivery month) or
    "advisor_id" (null for visits without one), a row for each with any visit."""
    if connection.vendor == "postgresql":
        refresh()
        rows = _rows(period)
        rows = rows.annotate(month=TruncMonth("day")) if by == "month" else rows
        sums = rows.values(by).annotate(**{name: Sum(name) for name in COLUMNS}).order_by(by)
        return pd.DataFrame(list(sums), columns=[by, *COLUMNS])
    frame = figures([(period.start, period.end)], **_filters(period))
    if by == "month":
        frame["month"] = frame["day"].map(lambda day: day.replace(day=1))
    return frame.groupby(by, dropna=False)[COLUMNS].sum().reset_index()


def _filters(period) -> dict:
    filters = {}
    if period.advisor:
        filters["advisor_id"] = period.advisor
    if period.service_type:
        filters["service_type"] = period.service_type
    return filters


def _rows(period):
    return DailyFigures.objects.filter(
        day__gte=period.start, day__lte=period.end, **_filters(period)
    )


# ---------------------------------------------------------------- keeping it current


def refresh() -> int:
    """Redo the days whose figures changed since the last refresh (every day after a
    truncate or a rebuild request). Returns the log rows taken."""
    if not DayChange.objects.exists():
        return 0
    with transaction.atomic():
        with connection.cursor() as cursor:
            # One refresher at a time; it takes the rows it saw, and a change committed
            # meanwhile stays for the next one.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            cursor.execute("DELETE FROM reports_daychange RETURNING delivered_at")
            changes = [at for (at,) in cursor.fetchall()]
        if not changes:
            return 0
        if any(at is None for at in changes):
            runs = None
            _empty()
        else:
            tz = timezone.get_default_timezone()  # the days TruncDate gives, whatever is active
            runs = day_runs({timezone.localtime(at, tz).date() for at in changes})
            DailyFigures.objects.filter(
                Q.create(
                    [("day__range", run) for run in runs],
                    connector=Q.OR,
                )
            ).delete()
        frame = figures(runs)
        if len(frame):
            states._insert(DailyFigures, frame)
        return len(changes)


def day_runs(days: set[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs; one run from first to last if too many."""
    ordered = sorted(days)
    runs = []
    for day in ordered:
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    if len(runs) > MAX_RUNS:
        return [(ordered[0], ordered[-1])]
    return runs


def rebuild() -> None:
    """Every day from scratch (the benchmark after its load; repairs by hand)."""
    if connection.vendor != "postgresql":
        return
    DayChange.objects.create()
    refresh()


def _empty() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {DailyFigures._meta.db_table}")


# ---------------------------------------------------------------- the triggers (PostgreSQL)

LOG = "INSERT INTO reports_daychange (delivered_at)"


def _distinct(columns: list[str]) -> str:
    return " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)


def _row_triggers(prefix, table, function, columns, *, insert=True) -> dict:
    """After insert, delete, and an update that changes one of ``columns`` (Django's save()
    writes every column, so the condition, not UPDATE OF, tells what moved)."""
    triggers = {
        f"{prefix}_update": (table, "UPDATE", _distinct(columns), function),
        f"{prefix}_delete": (table, "DELETE", "", function),
    }
    if insert:
        triggers[f"{prefix}_insert"] = (table, "INSERT", "", function)
    return triggers


TRIGGERS = {
    # name: (table, event, WHEN condition or "", function)
    "reports_day_visit_insert": (
        "visits_visit",
        "INSERT",
        f"NEW.status = 'delivered' OR NEW.service_type IN {REPAIRS}",
        "reports_day_of_visit",
    ),
    "reports_day_visit_update": (
        "visits_visit",
        "UPDATE",
        "((OLD.status = 'delivered' OR NEW.status = 'delivered') AND ("
        + _distinct(
            [
                "status",
                "delivered_at",
                "promised_at",
                "by_appointment",
                "service_type",
                "advisor_id",
                "vehicle_id",
            ]
        )
        + f")) OR ((OLD.service_type IN {REPAIRS} OR NEW.service_type IN {REPAIRS}) AND ("
        + _distinct(["service_type", "vehicle_id", "checked_in_at"])
        + "))",
        "reports_day_of_visit",
    ),
    "reports_day_visit_delete": (
        "visits_visit",
        "DELETE",
        f"OLD.status = 'delivered' OR OLD.service_type IN {REPAIRS}",
        "reports_day_of_visit",
    ),
    **_row_triggers(
        "reports_day_response",
        "surveys_surveyresponse",
        "reports_day_of_linked_visit",
        ["visit_id", "csi", "dimension_scores", "nps_class", "is_alert"],
    ),
    **_row_triggers(
        "reports_day_invitation",
        "surveys_surveyinvitation",
        "reports_day_of_linked_visit",
        ["visit_id", "status", "sent_at"],
    ),
    # A new task has no calls yet; its calls are deleted before it.
    **_row_triggers(
        "reports_day_task",
        "followups_followuptask",
        "reports_day_of_linked_visit",
        ["visit_id", "kind"],
        insert=False,
    ),
    **_row_triggers(
        "reports_day_call",
        "followups_callattempt",
        "reports_day_of_call",
        ["task_id", "outcome", "ended_at"],
    ),
}
TRUNCATED = [
    "visits_visit",
    "surveys_surveyresponse",
    "surveys_surveyinvitation",
    "followups_followuptask",
    "followups_callattempt",
]


def _visit_day(row: str) -> str:
    """The row's own day, and the delivered repairs of its vehicle that the row, a repair
    checked in within 30 days after them, makes comebacks (a day of slack: more days redone,
    none missed)."""
    return f"""IF {row}.status = 'delivered' THEN {LOG} VALUES ({row}.delivered_at); END IF;
    IF {row}.service_type IN {REPAIRS} THEN
      {LOG} SELECT v.delivered_at FROM visits_visit v
       WHERE v.vehicle_id = {row}.vehicle_id AND v.status = 'delivered'
         AND v.service_type IN {REPAIRS}
         AND v.delivered_at >= {row}.checked_in_at - interval '31 days'
         AND v.delivered_at < {row}.checked_in_at;
    END IF;"""


def _linked_day(row: str) -> str:
    return (
        f"{LOG} SELECT v.delivered_at FROM visits_visit v"
        f" WHERE v.id = {row}.visit_id AND v.status = 'delivered';"
    )


def _call_day(row: str) -> str:
    return (
        f"{LOG} SELECT v.delivered_at FROM followups_followuptask t"
        f" JOIN visits_visit v ON v.id = t.visit_id"
        f" WHERE t.id = {row}.task_id AND v.status = 'delivered';"
    )


def trigger_sql() -> list[str]:
    def function(name, body):
        return f"""CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN {body("OLD")} END IF;
  IF TG_OP <> 'DELETE' THEN {body("NEW")} END IF;
  RETURN NULL;
END $$"""

    statements = [
        function("reports_day_of_visit", _visit_day),
        function("reports_day_of_linked_visit", _linked_day),
        function("reports_day_of_call", _call_day),
        f"""CREATE OR REPLACE FUNCTION reports_day_everything() RETURNS trigger
LANGUAGE plpgsql AS $$ BEGIN {LOG} VALUES (NULL); RETURN NULL; END $$""",
    ]
    for name, (table, event, when, function_name) in TRIGGERS.items():
        statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        statements.append(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW"
            + (f" WHEN ({when})" if when else "")
            + f" EXECUTE FUNCTION {function_name}()"
        )
    for table in TRUNCATED:
        name = f"reports_day_truncate_{table}"
        statements.append(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        statements.append(
            f"CREATE TRIGGER {name} AFTER TRUNCATE ON {table}"
            " FOR EACH STATEMENT EXECUTE FUNCTION reports_day_everything()"
        )
    return statements


def trigger_names() -> list[str]:
    return [*TRIGGERS, *(f"reports_day_truncate_{table}" for table in TRUNCATED)]


def install_triggers(using=connection) -> bool:
    """PostgreSQL: create the triggers where any is missing, and log a full rebuild, since
    changes made without them went unlogged. Returns whether it did anything."""
    if using.vendor != "postgresql":
        return False
    if DayChange._meta.db_table not in using.introspection.table_names():
        return False  # migrated back below this app
    names = trigger_names()
    with using.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname = ANY(%s)", [names])
        if {name for (name,) in cursor.fetchall()} >= set(names):
            return False
    with transaction.atomic(using=using.alias), using.cursor() as cursor:
        for statement in trigger_sql():
            cursor.execute(statement)
        cursor.execute("INSERT INTO reports_daychange (delivered_at) VALUES (NULL)")
    return True
