"""Set-based SQL: the DMS sync's upserts keyed by ``external_id`` (with history written in
bulk), batch lookups, and the summary tables' bulk loads and change logs.

One INSERT … ON CONFLICT (external_id) DO UPDATE … WHERE <something changed> statement
writes a whole batch. A row whose values are all the same, or whose ``source_updated_at``
is older than the stored one, is not touched at all: no new row version, no ``updated_at``
change, no history row. The rows that were inserted or changed get their history rows in
one INSERT … SELECT, so "who changed what and when" holds for synced data too.

Works on PostgreSQL (the production database: arrays bound in binary, COPY, advisory
locks) and SQLite (the embedded default: plain parameter lists); what differs is in the
two dialect classes below, chosen in one place.
"""

from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
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


NEWER = (
    't."source_updated_at" IS NULL OR excluded."source_updated_at" IS NULL '
    'OR excluded."source_updated_at" >= t."source_updated_at"'
)


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
    dialect = _dialect()
    rows = sorted(rows, key=lambda row: row["external_id"])
    names = ["external_id", *(c.name for c in columns), "created_at", "updated_at"]
    for row in rows:
        row.setdefault("created_at", now)
        row.setdefault("updated_at", now)
    values = dialect.prepare(model, names, rows)
    insert, params = dialect.insert_rows(model, names, values)
    existing = dialect.existing_keys(model, [row["external_id"] for row in rows])
    returned = dialect.execute(
        insert + _on_conflict(dialect, columns) + f' RETURNING "id", "external_id"{dialect.flag}',
        params,
        fetch=True,
    )
    for record in returned:
        pk, external_id = record[0], record[1]
        inserted = record[2] if len(record) > 2 else external_id not in existing
        (outcome.created if inserted else outcome.updated)[external_id] = pk

    write_history(model, outcome.created.values(), "+", now, history_user_id, change_reason)
    write_history(model, outcome.updated.values(), "~", now, history_user_id, change_reason)
    return outcome


def _on_conflict(dialect, columns: list[Column]) -> str:
    set_parts, changed = [], []
    for column in columns:
        if column.on_update is None:
            continue
        target = connection.ops.quote_name(column.name)
        expression = column.on_update.format(name=target)
        set_parts.append(f"{target} = {expression}")
        if column.compare:
            changed.append(dialect.distinct(f"t.{target}", f"({expression})"))
    set_parts.append('"updated_at" = excluded."updated_at"')
    return (
        ' ON CONFLICT ("external_id") DO UPDATE SET '
        + ", ".join(set_parts)
        + f" WHERE ({' OR '.join(changed)}) AND ({NEWER})"
    )


def write_history(model, ids, history_type: str, now, user_id, reason: str) -> None:
    ids = sorted(ids)
    if not ids:
        return
    dialect = _dialect()
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
        f'WHERE "id" {dialect.in_list(ids)}'
    )
    dialect.execute(sql, [history_date, reason, history_type, user_id, *dialect.in_params(ids)])


def lookup(model, key: str, keys, columns: list[str], where: str = "") -> list[tuple]:
    """Rows of ``model`` whose ``key`` column is among ``keys``: (key, *columns) tuples.

    The batch's lookups go through here rather than the ORM's ``__in``, which would send a
    thousand placeholders per query."""
    keys = [k for k in set(keys) if k is not None]
    if not keys:
        return []
    dialect = _dialect()
    table = connection.ops.quote_name(model._meta.db_table)
    selected = ", ".join(connection.ops.quote_name(c) for c in [key, *columns])
    column = connection.ops.quote_name(key)
    sql = f"SELECT {selected} FROM {table} WHERE {column} {dialect.in_list(keys)}"
    if where:
        sql += f" AND {where}"
    return dialect.execute(sql, dialect.in_params(keys), fetch=True)


# ---------------------------------------------------------------- summary tables


def load_frame(model, frame: pd.DataFrame) -> None:
    """Insert a pandas frame's rows (columns named as the table's) into ``model``'s table:
    COPY on PostgreSQL, batched inserts elsewhere. Integer columns may hold missing values."""
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_float_dtype(frame[column]) and _is_integer_field(model, column):
            frame[column] = frame[column].astype("Int64")  # 1, not 1.0; missing stays NA
    _dialect().load_frame(model, frame)


def _is_integer_field(model, column: str) -> bool:
    field_ = next(f for f in model._meta.concrete_fields if f.column == column)
    return field_.get_internal_type() in ("IntegerField", "BigIntegerField", "BigAutoField")


def empty(model) -> None:
    """Every row of ``model``'s table gone (TRUNCATE where there is one)."""
    _dialect().empty(model)


def take_log(model, columns: list[str], *, lock_key: int) -> list[tuple]:
    """Take turns with other readers of a change log on ``lock_key`` (until the end of the
    transaction), then delete and return the log rows seen — a change committed meanwhile
    stays for the next reader. Values come back as Python values."""
    dialect = _dialect()
    dialect.take_turn(lock_key)
    selected = ", ".join(connection.ops.quote_name(c) for c in columns)
    rows = dialect.execute(
        f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)} RETURNING {selected}",
        [],
        fetch=True,
    )
    fields = [next(f for f in model._meta.concrete_fields if f.column == c) for c in columns]
    return [
        tuple(dialect.from_db(field_, value) for field_, value in zip(fields, row, strict=True))
        for row in rows
    ]


@contextmanager
def prepared_cursor():
    """A server-side-binding psycopg cursor on Django's PostgreSQL connection, for a hot
    statement: psycopg prepares a statement from its fifth execution on a connection, so
    PostgreSQL parses and plans it once instead of on every call (Django's own cursors bind
    on the client, which never prepares). Errors come out as Django's database errors."""
    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        yield cursor


# ---------------------------------------------------------------- the two dialects


def _array_placeholder(values: list) -> str:
    """Arrays go in psycopg's binary format (several times faster to send than text); an
    array of nothing but NULLs has no element type to send in binary, so it goes as text."""
    return "%b" if any(value is not None for value in values) else "%s"


class _PostgreSQL:
    flag = ", (xmax = 0)"  # the row was inserted, not updated

    @staticmethod
    def execute(sql: str, params: list, *, fetch: bool = False):
        """Server-side parameter binding (Django's cursor quotes values into the SQL text in
        Python, slow for arrays of a thousand values), on Django's connection and inside
        the caller's transaction."""
        connection.ensure_connection()
        with psycopg.Cursor(connection.connection) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if fetch else None

    @staticmethod
    def distinct(left: str, right: str) -> str:
        return f"{left} IS DISTINCT FROM {right}"

    @staticmethod
    def prepare(model, names: list[str], rows: list[dict]) -> list[list]:
        return [[row[name] for name in names] for row in rows]

    @staticmethod
    def insert_rows(model, names: list[str], values: list[list]) -> tuple[str, list]:
        """One array per column: a handful of parameters however large the batch, so the
        statement is cheap to send and to plan. WITH ORDINALITY keeps the sorted order."""
        fields = {f.column: f for f in model._meta.concrete_fields}
        params = [list(column) for column in zip(*values, strict=True)]
        arrays = ", ".join(
            f"{_array_placeholder(param)}::{fields[name].db_type(connection)}[]"
            for name, param in zip(names, params, strict=True)
        )
        aliases = ", ".join(f"c{i}" for i in range(len(names)))
        quoted = ", ".join(connection.ops.quote_name(name) for name in names)
        table = connection.ops.quote_name(model._meta.db_table)
        return (
            f"INSERT INTO {table} AS t ({quoted}) "
            f"SELECT {aliases} FROM unnest({arrays}) WITH ORDINALITY AS u({aliases}, n) ORDER BY n",
            params,
        )

    @staticmethod
    def existing_keys(model, keys: list) -> set:
        return set()  # xmax tells inserts from updates

    @staticmethod
    def in_list(values) -> str:
        return f"= ANY({_array_placeholder(list(values))})"

    @staticmethod
    def in_params(values) -> list:
        return [list(values)]

    @staticmethod
    def load_frame(model, frame: pd.DataFrame) -> None:
        # CSV written by pandas (vectorised) into COPY: an empty unquoted field is NULL.
        text = frame.to_csv(index=False, header=False, date_format="%Y-%m-%d")
        connection.ensure_connection()
        columns = ", ".join(frame.columns)
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(
                f"COPY {model._meta.db_table} ({columns}) FROM STDIN WITH (FORMAT csv)"
            ) as copy,
        ):
            copy.write(text)

    @staticmethod
    def empty(model) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {connection.ops.quote_name(model._meta.db_table)}")

    @staticmethod
    def take_turn(key: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])

    @staticmethod
    def from_db(field_, value):
        return value  # psycopg gives Python values


class _SQLite:
    flag = ""

    @staticmethod
    def execute(sql: str, params: list, *, fetch: bool = False):
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if fetch else None

    @staticmethod
    def distinct(left: str, right: str) -> str:
        return f"{left} IS NOT {right}"  # SQLite's null-safe inequality

    @staticmethod
    def prepare(model, names: list[str], rows: list[dict]) -> list[list]:
        """Python values as SQLite takes them (Django's adaptation)."""
        fields = {f.column: f for f in model._meta.concrete_fields}
        return [
            [fields[name].get_db_prep_save(row[name], connection) for name in names] for row in rows
        ]

    @staticmethod
    def insert_rows(model, names: list[str], values: list[list]) -> tuple[str, list]:
        placeholders = "(" + ", ".join(["%s"] * len(names)) + ")"
        quoted = ", ".join(connection.ops.quote_name(name) for name in names)
        table = connection.ops.quote_name(model._meta.db_table)
        return (
            f"INSERT INTO {table} AS t ({quoted}) VALUES "
            + ", ".join([placeholders] * len(values)),
            [value for row_values in values for value in row_values],
        )

    @staticmethod
    def existing_keys(model, keys: list) -> set:
        return set(
            model._base_manager.filter(external_id__in=keys).values_list("external_id", flat=True)
        )

    @staticmethod
    def in_list(values) -> str:
        return f"IN ({', '.join(['%s'] * len(values))})"

    @staticmethod
    def in_params(values) -> list:
        return list(values)

    @staticmethod
    def load_frame(model, frame: pd.DataFrame) -> None:
        records = frame.astype(object).where(frame.notna(), None)
        columns = list(frame.columns)
        fields = {f.column: f.attname for f in model._meta.concrete_fields}
        model.objects.bulk_create(
            [
                model(
                    **{
                        fields[name]: value.date() if isinstance(value, pd.Timestamp) else value
                        for name, value in zip(columns, row, strict=True)
                    }
                )
                for row in records.itertuples(index=False)
            ],
            batch_size=500,
        )

    @staticmethod
    def empty(model) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")

    @staticmethod
    def take_turn(key: int) -> None:
        """SQLite lets one writer at a time anyway (immediate transactions)."""

    @staticmethod
    def from_db(field_, value):
        if value is not None and field_.get_internal_type() == "DateTimeField":
            return connection.ops.convert_datetimefield_value(value, None, connection)
        return value


def _dialect():
    return _PostgreSQL if connection.vendor == "postgresql" else _SQLite
