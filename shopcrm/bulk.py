"""Set-based upserts keyed by the DMS's ``external_id``, with history written in bulk.

One INSERT … ON CONFLICT (external_id) DO UPDATE … WHERE <something changed> statement
writes a whole batch. A row whose values are all the same, or whose ``source_updated_at``
is older than the stored one, is not touched at all: no new row version, no ``updated_at``
change, no history row. The rows that were inserted or changed get their history rows in
one INSERT … SELECT, so "who changed what and when" holds for synced data too.

Works on PostgreSQL (the production database) and SQLite (the embedded default).
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
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


def _execute(sql: str, params: list, *, fetch: bool = False):
    """Run one statement. On PostgreSQL with server-side parameter binding (Django's cursor
    quotes values into the SQL text in Python, slow for arrays of a thousand values); the
    statement runs on Django's connection, inside the caller's transaction."""
    if connection.vendor == "postgresql":
        import psycopg

        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if fetch else None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if fetch else None


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
    conflict = (
        ' ON CONFLICT ("external_id") DO UPDATE SET '
        + ", ".join(set_parts)
        + f" WHERE ({' OR '.join(changed)}) AND ({newer})"
        + f' RETURNING "id", "external_id"{inserted_flag}'
    )
    values = _prepare(model, names, rows)
    if connection.vendor == "postgresql":
        # One array per column: a handful of parameters however large the batch, so the
        # statement is cheap to send and to plan. WITH ORDINALITY keeps the sorted order.
        fields = {f.column: f for f in model._meta.concrete_fields}
        params = [list(column) for column in zip(*values, strict=True)]
        arrays = ", ".join(
            f"{_array_placeholder(param)}::{fields[name].db_type(connection)}[]"
            for name, param in zip(names, params, strict=True)
        )
        aliases = ", ".join(f"c{i}" for i in range(len(names)))
        sql = (
            f"INSERT INTO {table} AS t ({', '.join(quoted)}) "
            f"SELECT {aliases} FROM unnest({arrays}) WITH ORDINALITY AS u({aliases}, n) ORDER BY n"
            + conflict
        )
    else:
        placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
        sql = (
            f"INSERT INTO {table} AS t ({', '.join(quoted)}) VALUES "
            + ", ".join([placeholders] * len(rows))
            + conflict
        )
        params = [value for row_values in values for value in row_values]
    existing = set()
    if connection.vendor != "postgresql":
        existing = set(
            model._base_manager.filter(
                external_id__in=[row["external_id"] for row in rows]
            ).values_list("external_id", flat=True)
        )
    returned = _execute(sql, params, fetch=True)
    for record in returned:
        pk, external_id = record[0], record[1]
        inserted = record[2] if len(record) > 2 else external_id not in existing
        (outcome.created if inserted else outcome.updated)[external_id] = pk

    write_history(model, outcome.created.values(), "+", now, history_user_id, change_reason)
    write_history(model, outcome.updated.values(), "~", now, history_user_id, change_reason)
    return outcome


def write_history(model, ids, history_type: str, now, user_id, reason: str) -> None:
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
        f'WHERE "id" {_in_list(ids)}'
    )
    _execute(sql, [history_date, reason, history_type, user_id, *_in_params(ids)])


def _array_placeholder(values: list) -> str:
    """Arrays go in psycopg's binary format (several times faster to send than text); an
    array of nothing but NULLs has no element type to send in binary, so it goes as text."""
    return "%b" if any(value is not None for value in values) else "%s"


def _in_list(values) -> str:
    """``= ANY(%b)`` with one array parameter on PostgreSQL; an IN list on SQLite."""
    if connection.vendor == "postgresql":
        return f"= ANY({_array_placeholder(list(values))})"
    return f"IN ({', '.join(['%s'] * len(values))})"


def _in_params(values) -> list:
    return [list(values)] if connection.vendor == "postgresql" else list(values)


def lookup(model, key: str, keys, columns: list[str], where: str = "") -> list[tuple]:
    """Rows of ``model`` whose ``key`` column is among ``keys``: (key, *columns) tuples.

    The batch's lookups go through here rather than the ORM's ``__in``, which would send a
    thousand placeholders per query."""
    keys = [k for k in set(keys) if k is not None]
    if not keys:
        return []
    table = connection.ops.quote_name(model._meta.db_table)
    selected = ", ".join(connection.ops.quote_name(c) for c in [key, *columns])
    sql = f"SELECT {selected} FROM {table} WHERE {connection.ops.quote_name(key)} {_in_list(keys)}"
    if where:
        sql += f" AND {where}"
    return _execute(sql, _in_params(keys), fetch=True)


@contextmanager
def prepared_cursor():
    """A server-side-binding psycopg cursor on Django's PostgreSQL connection, for a hot
    statement: psycopg prepares a statement from its fifth execution on a connection, so
    PostgreSQL parses and plans it once instead of on every call (Django's own cursors bind
    on the client, which never prepares). Errors come out as Django's database errors."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor
