"""The summary table behind the period figures (reports.models.DailyFigures), kept current.

Per delivery day (the shop's calendar), advisor and service type, the columns declared in
reports.figures. A period's figures add up at most a few thousand rows instead of joining
its visits to four other tables.

Triggers on visits, responses, invitations, follow-up tasks and call attempts (declared with
the figures; PostgreSQL and SQLite alike) log the delivery time of every visit whose day a
change moves (``reports_daychange``), including the earlier repairs of the same vehicle that
a new repair check-in makes comebacks. ``refresh()`` redoes those days with the same grouped
queries as a full rebuild; every read calls it first, and the beat task every minute, so a
figure never trails the data.
"""

from datetime import date, timedelta

import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, F, FloatField, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from followups.models import FollowUpTask
from shopcalendar.rules import day_span, local_day
from shopcrm import bulk, triggers
from surveys.models import SurveyInvitation, SurveyResponse
from visits.models import Visit

from . import figures
from .models import DAY_LOG_PROXIES, DAY_TRIGGERS, DailyFigures, DayChange

LOCK_KEY = 7_114_002  # one refresher at a time (shopcrm.bulk.take_log)
KEY = figures.KEY
# Above this many separate runs of days to redo, redo the whole span from first to last.
MAX_RUNS = 50

COLUMNS = [
    field.name for field in DailyFigures._meta.concrete_fields if field.name not in ("id", *KEY)
]
FLOAT_COLUMNS = {
    field.name for field in DailyFigures._meta.concrete_fields if isinstance(field, FloatField)
}


# ---------------------------------------------------------------- computing the figures


def _delivered(prefix: str, runs: list[tuple[date, date]] | None) -> Q:
    """Delivered visits (through ``prefix``, e.g. "visit__") delivered within the runs of
    days (first, last), all of them if None."""
    q = Q(**{f"{prefix}status": Visit.Status.DELIVERED, f"{prefix}delivered_at__isnull": False})
    if runs is None:
        return q
    within = Q()
    for first, last in runs:
        since, until = day_span(first, last)
        within |= Q(**{f"{prefix}delivered_at__gte": since, f"{prefix}delivered_at__lt": until})
    return q & within


def _keyed(queryset, prefix: str):
    """Grouped by the key: the delivery day in the shop's calendar, advisor, service type."""
    if not prefix:
        day = TruncDate("delivered_at", tzinfo=timezone.get_default_timezone())
        return queryset.annotate(day=day).values(*KEY)
    return queryset.values(
        day=TruncDate(f"{prefix}delivered_at", tzinfo=timezone.get_default_timezone()),
        advisor_id=F(f"{prefix}advisor_id"),
        service_type=F(f"{prefix}service_type"),
    )


def _counts(conditions: dict) -> dict:
    """Count(…) of the visits where each condition holds (Q() for all)."""
    return {
        name: Count("pk", filter=condition) if condition else Count("pk")
        for name, condition in conditions.items()
    }


def compute(runs: list[tuple[date, date]] | None = None, **visit_filters) -> pd.DataFrame:
    """One row per day, advisor and service type (the KEY) with every column of
    DailyFigures, over the visits delivered within ``runs`` (every day if None) and
    matching ``visit_filters``: six grouped queries, each over one join at most."""
    visits = Visit.objects.filter(_delivered("", runs), **visit_filters).order_by()
    related = {f"visit__{name}": value for name, value in visit_filters.items()}
    repairs = visits.filter(figures.VISIT_COUNTS["repairs"])
    querysets = [
        _keyed(visits, "").annotate(**_counts(figures.VISIT_COUNTS)),
        # Exists as a filter: one hash semi-join (in an aggregate's filter it would be a
        # subquery per visit).
        _keyed(repairs.filter(figures.came_back()), "").annotate(came_back=Count("pk")),
        _keyed(visits.filter(figures.reached_within_72h()), "").annotate(contacted=Count("pk")),
        _keyed(
            SurveyResponse.objects.filter(_delivered("visit__", runs), **related).order_by(),
            "visit__",
        ).annotate(**figures.RESPONSE_FIGURES),
        _keyed(
            SurveyInvitation.objects.filter(_delivered("visit__", runs), **related).order_by(),
            "visit__",
        ).annotate(**figures.INVITATION_FIGURES),
        _keyed(
            FollowUpTask.objects.filter(_delivered("visit__", runs), **related).order_by(),
            "visit__",
        ).annotate(**figures.TASK_FIGURES),
    ]
    merged = None
    for queryset in querysets:
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
        kind = "float64" if name in FLOAT_COLUMNS else "int64"
        merged[name] = merged[name].fillna(0).astype(kind)
    merged["advisor_id"] = merged["advisor_id"].astype("Int64").replace(0, pd.NA)
    return merged[KEY + COLUMNS].sort_values(KEY[:1]).reset_index(drop=True)


# ---------------------------------------------------------------- reading


def totals(period) -> dict:
    """The sums of every column over the period's delivery days, advisor and service type
    (the table brought up to date first)."""
    refresh()
    sums = _rows(period).aggregate(**{name: Sum(name) for name in COLUMNS})
    return {name: value or 0 for name, value in sums.items()}


def grouped(period, by: str) -> pd.DataFrame:
    """The same sums per ``by``: "month" (the first day of the delivery month) or
    "advisor_id" (null for visits without one), a row for each with any visit."""
    refresh()
    rows = _rows(period)
    rows = rows.annotate(month=TruncMonth("day")) if by == "month" else rows
    sums = rows.values(by).annotate(**{name: Sum(name) for name in COLUMNS}).order_by(by)
    return pd.DataFrame(list(sums), columns=[by, *COLUMNS])


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
        # One refresher at a time; it takes the rows it saw, and a change committed
        # meanwhile stays for the next one.
        changes = [at for (at,) in bulk.take_log(DayChange, ["delivered_at"], lock_key=LOCK_KEY)]
        if not changes:
            return 0
        if any(at is None for at in changes):
            runs = None
            bulk.empty(DailyFigures)
        else:
            # The shop's days (the ones TruncDate gives), whatever zone a request activated.
            runs = day_runs({local_day(at) for at in changes})
            DailyFigures.objects.filter(
                Q.create([("day__range", run) for run in runs], connector=Q.OR)
            ).delete()
        frame = compute(runs)
        if len(frame):
            bulk.load_frame(DailyFigures, frame)
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
    DayChange.objects.create()
    refresh()


def ensure_triggers(using=connection) -> bool:
    """Put back any change-logging trigger that is missing (created by the migrations on
    PostgreSQL, after every migrate on SQLite) and log a full rebuild, since changes made
    without them went unlogged. Returns whether anything was missing."""
    if DayChange._meta.db_table not in using.introspection.table_names():
        return False  # migrated back below this app
    if not triggers.ensure_installed(DAY_TRIGGERS, DAY_LOG_PROXIES, using):
        return False
    with using.cursor() as cursor:
        cursor.execute(f"INSERT INTO {DayChange._meta.db_table} (delivered_at) VALUES (NULL)")
    return True
