"""Set-based upserts keyed by the DMS's ``external_id``, with history written in bulk.

One INSERT … ON CONFLICT (external_id) DO UPDATE … WHERE <something changed> statement
writes a whole batch. A row whose values are all the same, or whose ``source_updated_at``
is older than the stored one, is not touched at all: no new row version, no ``updated_at``
change, no history row. The rows that were inserted or changed get their history rows in
one INSERT … SELECT, so "who changed what and when" holds for synced data too.

Works on PostgreSQL (the production database) and SQLite (the embedded default).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection


@dataclass(frozen=True)
class Column:
    """A column the sync writes.

    ``on_update`` is the SQL of the value an existing row gets (``t`` is the stored row,
    ``excluded`` the incoming one); the default takes the incoming value. ``None`` means
    the column is written on insert only. ``compare`` says whether a difference in this
    column counts as a change.
    """

    name: str
    on_update: str | None = "excluded.{name}"
    compare: bool = True


@dataclass
class UpsertOutcome:
    created: dict[str, int] = field(default_factory=dict)  # external_id -> id
    updated: dict[str, int] = field(default_factory=dict)


def _distinct(left: str, right: str) -> str:
    if connection.vendor == "postgresql":
        return f"{left} IS DISTINCT FROM {right}"
    return f"{left} IS NOT {right}"  # SQLite's null-safe inequality


def _prepare(model, columns: list[str], rows: list[dict]) -> list[list]:
    """Python values as the database takes them (SQLite needs Django's adaptation)."""
    if connection.vendor == "postgresql":
        return [[row[name] for name in columns] for row in rows]
    fields = {f.column: f for f in model._meta.concrete_fields}
    return [
        [fields[name].get_db_prep_save(row[name], connection) for name in columns] for row in rows
    ]


def upsert(
    *,
    model,
    rows: list[dict],
    columns: list[Column],
    now: datetime,
    history_user_id: int | None,
    change_reason: str,
) -> UpsertOutcome:
    """Insert or update ``rows`` (dicts by column name, each with ``external_id``).

    Rows are written in ``external_id`` order so that two overlapping batches lock rows in
    the same order and cannot deadlock. Must run inside a transaction.
    """
    outcome = UpsertOutcome()
    if not rows:
        return outcome
    rows = sorted(rows, key=lambda row: row["external_id"])
    table = connection.ops.quote_name(model._meta.db_table)
    names = ["external_id", *(c.name for c in columns), "created_at", "updated_at"]
    quoted = [connection.ops.quote_name(name) for name in names]
    for row in rows:
        row.setdefault("created_at", now)
        row.setdefault("updated_at", now)

    set_parts, changed = [], []
    for column in columns:
        if column.on_update is None:
            continue
        target = connection.ops.quote_name(column.name)
        expression = column.on_update.format(name=target)
        set_parts.append(f"{target} = {expression}")
        if column.compare:
            changed.append(_distinct(f"t.{target}", f"({expression})"))
    set_parts.append('"updated_at" = excluded."updated_at"')
    newer = (
        't."source_updated_at" IS NULL OR excluded."source_updated_at" IS NULL '
        'OR excluded."source_updated_at" >= t."source_updated_at"'
    )
    inserted_flag = ", (xmax = 0)" if connection.vendor == "postgresql" else ""
    placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
    # Identifiers come from model metadata, quoted; every value is a parameter.
    sql = (
        f"INSERT INTO {table} AS t ({', '.join(quoted)}) VALUES "
        + ", ".join([placeholders] * len(rows))
        + ' ON CONFLICT ("external_id") DO UPDATE SET '
        + ", ".join(set_parts)
        + f" WHERE ({' OR '.join(changed)}) AND ({newer})"
        + f' RETURNING "id", "external_id"{inserted_flag}'
    )
    existing = set()
    if connection.vendor != "postgresql":
        existing = set(
            model._base_manager.filter(
                external_id__in=[row["external_id"] for row in rows]
            ).values_list("external_id", flat=True)
        )
    params = [value for values in _prepare(model, names, rows) for value in values]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        returned = cursor.fetchall()
    for record in returned:
        pk, external_id = record[0], record[1]
        inserted = record[2] if len(record) > 2 else external_id not in existing
        (outcome.created if inserted else outcome.updated)[external_id] = pk

    _write_history(model, outcome.created.values(), "+", now, history_user_id, change_reason)
    _write_history(model, outcome.updated.values(), "~", now, history_user_id, change_reason)
    return outcome


def _write_history(model, ids, history_type: str, now, user_id, reason: str) -> None:
    ids = sorted(ids)
    if not ids:
        return
    historical = model.history.model
    columns = [
        f.column for f in historical._meta.concrete_fields if not f.name.startswith("history_")
    ]
    quoted = ", ".join(connection.ops.quote_name(c) for c in columns)
    history_date = historical._meta.get_field("history_date").get_db_prep_save(now, connection)
    sql = (
        f"INSERT INTO {connection.ops.quote_name(historical._meta.db_table)} "
        f'({quoted}, "history_date", "history_change_reason", "history_type", "history_user_id") '
        f"SELECT {quoted}, %s, %s, %s, %s FROM {connection.ops.quote_name(model._meta.db_table)} "
        f'WHERE "id" IN ({", ".join(["%s"] * len(ids))})'
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [history_date, reason, history_type, user_id, *ids])
