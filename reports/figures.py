"""The daily figures (reports.models.DailyFigures) declared once.

Per delivery day (the shop's calendar), advisor and service type: what each column counts
or sums, over which table, and what it reads. METRICS.md's period rates are ratios of these
sums. Both the grouped queries that compute the table (reports.daily) and the triggers that
log which days a change moves (``declare_triggers``) come from these declarations: a column a
figure reads is watched because the figure reads it, and the repair kinds and the comeback
window are visits.rules' own."""

from datetime import timedelta

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, Exists, F, FloatField, OuterRef, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from followups.models import CallAttempt, FollowUpTask
from shopcrm.triggers import LogTrigger
from surveys.models import Dimension, SurveyInvitation, SurveyResponse
from visits import rules as visit_rules
from visits.models import Visit
from visits.rules import COMEBACK_WINDOW, REPAIR_TYPES

# The table's key: the visit's delivery day (from delivered_at), advisor and service type.
KEY = ["day", "advisor_id", "service_type"]
KEY_FIELDS = ["delivered_at", "advisor", "service_type"]
DELIVERED = Visit.Status.DELIVERED.value
CONTACT_WINDOW = timedelta(hours=72)  # the three-day call's "reached within 72 hours"

# Visits delivered that day, counted where the condition holds.
VISIT_COUNTS = {
    "visits": Q(),
    # With a promise; delivered by the first promise, by the last; the promise revised.
    "promised": visit_rules.PROMISED,
    "on_time": visit_rules.ON_TIME_FIRST,
    "on_time_revised": visit_rules.ON_TIME_LAST,
    "revised": visit_rules.REVISED,
    "checklist_complete": visit_rules.CHECKLIST_COMPLETE,
    "by_appointment": Q(by_appointment=True),
    "repairs": Q(service_type__in=REPAIR_TYPES),
}

# A comeback (METRICS.md, fixed first visit): for a delivered repair (the outer visit), a
# repair of the same vehicle checked in within the window after its delivery.
COMEBACK = Q(
    vehicle_id=OuterRef("vehicle_id"),
    service_type__in=REPAIR_TYPES,
    checked_in_at__gt=OuterRef("delivered_at"),
    checked_in_at__lte=OuterRef("delivered_at") + COMEBACK_WINDOW,
)

# Reached within 72 hours (METRICS.md, three-day follow-up rate): for a delivered visit (the
# outer one), a dial of its post-service call that reached the customer in the window.
REACHED = Q(
    task__visit_id=OuterRef("pk"),
    task__kind=FollowUpTask.Kind.POST_SERVICE,
    outcome__in=list(FollowUpTask.REACHED),
    ended_at__lte=OuterRef("delivered_at") + CONTACT_WINDOW,
)


def came_back() -> Exists:
    return Exists(Visit.objects.filter(COMEBACK))


def reached_within_72h() -> Exists:
    return Exists(CallAttempt.objects.filter(REACHED))


def _dimension_figures() -> dict:
    figures = {}
    for name in Dimension.values:
        points = Cast(KeyTextTransform(name, "dimension_scores"), FloatField())
        figures[f"{name}_count"] = Count(points)
        figures[f"{name}_sum"] = Sum(points)
    return figures


def _pair_figures() -> dict:
    """The key drivers' sums per dimension (reports.models.DailyFigures): over the responses
    with both the dimension's points and an NPS answer. ``a + b * 0`` is null unless both are
    answered, and SQL's aggregates skip nulls."""
    nps = Cast("nps_score", FloatField())
    figures = {}
    for name in Dimension.values:
        points = Cast(KeyTextTransform(name, "dimension_scores"), FloatField())
        x, y = nps + points * 0, points + nps * 0
        figures |= {
            f"{name}_pairs": Count(y),
            f"{name}_pairs_nps": Sum(x),
            f"{name}_pairs_nps_squares": Sum(x * x),
            f"{name}_pairs_points": Sum(y),
            f"{name}_pairs_points_squares": Sum(y * y),
            f"{name}_pairs_products": Sum(x * y),
        }
    return figures


# Their survey responses.
RESPONSE_FIGURES = {
    "responses": Count("pk"),
    "csi_count": Count("csi"),
    "csi_sum": Sum("csi"),
    "alerts": Count("pk", filter=Q(is_alert=True)),
    "promoters": Count("pk", filter=Q(nps_class=SurveyResponse.NpsClass.PROMOTER)),
    "detractors": Count("pk", filter=Q(nps_class=SurveyResponse.NpsClass.DETRACTOR)),
    "nps_answered": Count("pk", filter=~Q(nps_class="")),
    **_dimension_figures(),
    **_pair_figures(),
}
# Their survey invitations.
INVITATION_FIGURES = {
    "invitations_sent": Count("pk", filter=Q(sent_at__isnull=False)),
    "invitations_completed": Count(
        "pk", filter=Q(sent_at__isnull=False, status=SurveyInvitation.Status.COMPLETED)
    ),
}

# Their post-service follow-up calls (the dashboard's funnel).
POST_SERVICE = Q(kind=FollowUpTask.Kind.POST_SERVICE)
TASK_FIGURES = {
    "followup_tasks": Count("pk", filter=POST_SERVICE),
    "followup_dialled": Count("pk", filter=POST_SERVICE & Q(attempts__gt=0)),
    "followup_reached": Count(
        "pk", filter=POST_SERVICE & Q(outcome__in=list(FollowUpTask.REACHED))
    ),
}

# ---------------------------------------------------------------- what the figures read


def fields_read(model, *nodes) -> dict:
    """{model: field names} that ``nodes`` (Q objects, expressions, aggregates) read of
    ``model`` and, through its relations, of other models; OuterRef's under ``None``."""
    found: dict = {}

    def add(owner, name):
        found.setdefault(owner, set()).add(name)

    def path(owner, lookup: str):
        for segment in lookup.split("__"):
            try:
                field = owner._meta.get_field(segment)
            except FieldDoesNotExist:
                return  # a lookup (isnull, lte, in …), not a field
            if field.primary_key:
                return
            add(owner, field.name)
            if not field.is_relation:
                return
            owner = field.remote_field.model  # (related_model needs every app loaded)

    def walk(node, owner):
        if node is None or isinstance(node, str | int | float | bool | list | tuple):
            return
        if isinstance(node, Q):
            for child in node.children:
                if isinstance(child, Q):
                    walk(child, owner)
                else:
                    lookup, value = child
                    path(owner, lookup)
                    walk(value, owner)
        elif isinstance(node, OuterRef):
            add(None, node.name)
        elif isinstance(node, F):
            path(owner, node.name)
        elif hasattr(node, "get_source_expressions"):
            for source in node.get_source_expressions():
                walk(source, owner)
            walk(getattr(node, "filter", None), owner)

    for node in nodes:
        walk(node, model)
    return found


def _columns(model, names) -> list[str]:
    return sorted({model._meta.get_field(name).column for name in names})


def watched() -> dict:
    """The columns whose change moves a day's figures, per watched table."""
    comeback, reached = fields_read(Visit, COMEBACK), fields_read(CallAttempt, REACHED)
    visit_side = {"status", *KEY_FIELDS}
    visit_side |= fields_read(Visit, *VISIT_COUNTS.values()).get(Visit, set())
    visit_side |= comeback[None] | {name for name in reached[None] if name != "pk"}
    return {
        "visit": _columns(Visit, visit_side),
        "repair": _columns(Visit, comeback[Visit]),
        "response": _columns(
            SurveyResponse,
            {"visit", *fields_read(SurveyResponse, *RESPONSE_FIGURES.values())[SurveyResponse]},
        ),
        "invitation": _columns(
            SurveyInvitation,
            {
                "visit",
                *fields_read(SurveyInvitation, *INVITATION_FIGURES.values())[SurveyInvitation],
            },
        ),
        "call": _columns(CallAttempt, reached[CallAttempt]),
        "task": _columns(
            FollowUpTask,
            {
                "visit",
                *reached[FollowUpTask],
                *fields_read(FollowUpTask, *TASK_FIGURES.values())[FollowUpTask],
            },
        ),
    }


# ---------------------------------------------------------------- the triggers


def declare_triggers(*, log) -> list[LogTrigger]:
    """The triggers that log into ``log`` (reports.models.DayChange) the delivery time of
    every visit whose day's figures a change moves; NULL: every day."""
    columns = watched()
    table, visits = log._meta.db_table, Visit._meta.db_table
    repairs = "(" + ", ".join(f"'{kind}'" for kind in REPAIR_TYPES) + ")"
    insert = f"INSERT INTO {table} (delivered_at)"

    def visit_day(row, sql) -> list[str]:
        """The row's own day when delivered, and for a repair, the days of the vehicle's
        repairs delivered in the comeback window before its check-in (it makes them
        comebacks)."""
        since = sql.minus(f"{row}.checked_in_at", COMEBACK_WINDOW)
        return [
            sql.only_if(f"{row}.status = '{DELIVERED}'", f"{insert} SELECT {row}.delivered_at"),
            sql.only_if(
                f"{row}.service_type IN {repairs}",
                f"{insert} SELECT v.delivered_at FROM {visits} v",
                f"v.vehicle_id = {row}.vehicle_id AND v.status = '{DELIVERED}'"
                f" AND v.service_type IN {repairs} AND v.delivered_at >= {since}"
                f" AND v.delivered_at < {row}.checked_in_at",
            ),
        ]

    def linked_day(row, sql) -> list[str]:
        return [
            f"{insert} SELECT v.delivered_at FROM {visits} v"
            f" WHERE v.id = {row}.visit_id AND v.status = '{DELIVERED}'"
        ]

    def call_day(row, sql) -> list[str]:
        return [
            f"{insert} SELECT v.delivered_at FROM {FollowUpTask._meta.db_table} t"
            f" JOIN {visits} v ON v.id = t.visit_id"
            f" WHERE t.id = {row}.task_id AND v.status = '{DELIVERED}'"
        ]

    def on_visits(row) -> str:
        return f"{row}.status = '{DELIVERED}' OR {row}.service_type IN {repairs}"

    def visit_update(sql) -> str:
        delivered = f"OLD.status = '{DELIVERED}' OR NEW.status = '{DELIVERED}'"
        repair = f"OLD.service_type IN {repairs} OR NEW.service_type IN {repairs}"
        return (
            f"(({delivered}) AND ({sql.changed(columns['visit'])}))"
            f" OR (({repair}) AND ({sql.changed(columns['repair'])}))"
        )

    triggers = _visit_triggers(visit_day, on_visits, visit_update)
    # A new task counts in the funnel; its calls are deleted before it.
    for name, model, day, key, insert_too in (
        ("response", SurveyResponse, linked_day, "response", True),
        ("invitation", SurveyInvitation, linked_day, "invitation", True),
        ("task", FollowUpTask, linked_day, "task", True),
        ("call", CallAttempt, call_day, "call", True),
    ):
        triggers += _row_triggers(name, model, day, columns[key], insert_too=insert_too)
    for model in (Visit, SurveyResponse, SurveyInvitation, FollowUpTask, CallAttempt):
        triggers.append(
            LogTrigger(
                f"rp_day_truncate_{model._meta.model_name}",
                model,
                "TRUNCATE",
                lambda sql: [f"{insert} VALUES (NULL)"],
            )
        )
    return triggers


def _visit_triggers(visit_day, on_visits, visit_update) -> list[LogTrigger]:
    return [
        LogTrigger(
            "rp_day_visit_insert",
            Visit,
            "INSERT",
            lambda sql: visit_day("NEW", sql),
            lambda sql: on_visits("NEW"),
        ),
        LogTrigger(
            "rp_day_visit_update",
            Visit,
            "UPDATE",
            lambda sql: visit_day("OLD", sql) + visit_day("NEW", sql),
            visit_update,
        ),
        LogTrigger(
            "rp_day_visit_delete",
            Visit,
            "DELETE",
            lambda sql: visit_day("OLD", sql),
            lambda sql: on_visits("OLD"),
        ),
    ]


def _row_triggers(name, model, day, columns, *, insert_too) -> list[LogTrigger]:
    """After insert, delete, and an update that changes one of ``columns`` (Django's save()
    writes every column, so the condition, not UPDATE OF, tells what moved)."""
    triggers = [
        LogTrigger(
            f"rp_day_{name}_update",
            model,
            "UPDATE",
            lambda sql: day("OLD", sql) + day("NEW", sql),
            lambda sql: sql.changed(columns),
        ),
        LogTrigger(f"rp_day_{name}_delete", model, "DELETE", lambda sql: day("OLD", sql)),
    ]
    if insert_too:
        triggers.append(
            LogTrigger(f"rp_day_{name}_insert", model, "INSERT", lambda sql: day("NEW", sql))
        )
    return triggers
