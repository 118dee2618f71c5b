"""Change-logging triggers, declared once for both databases.

A summary table that a read brings up to date (followups' vehicle and customer states,
reports' daily figures) needs to know what changed since the last read. Each watched table
gets AFTER triggers that, when a column a figure reads changes, insert into a log table what
to redo. A trigger is declared here once, as data (`LogTrigger`): the watched model, the
event, the condition and the log statements, written over the dialect (`Sql`) so that the
same declaration yields

- PostgreSQL triggers through django-pgtrigger: declared on proxy models in the app that
  owns the summary (so the watched apps never import it), created and changed by that app's
  migrations like any schema change (`makemigrations --check` catches one that is missing);
- SQLite triggers (the embedded default), created after every migrate, because SQLite
  drops a table's triggers whenever a migration rebuilds the table.

`ensure_installed` puts back any that went missing (a restore without triggers, SQLite's
rebuilds) and says so, so the caller can log a full rebuild: changes made without them went
unlogged."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta

import pgtrigger
from django.db import transaction


@dataclass(frozen=True)
class Sql:
    """What differs between the two dialects in a trigger's condition or statements."""

    vendor: str

    def distinct(self, left: str, right: str) -> str:
        """Null-safe "differs"."""
        if self.vendor == "postgresql":
            return f"{left} IS DISTINCT FROM {right}"
        return f"{left} IS NOT {right}"

    def changed(self, columns: Iterable[str]) -> str:
        return " OR ".join(self.distinct(f"OLD.{c}", f"NEW.{c}") for c in columns)

    def only_if(self, condition: str, statement: str, where: str = "") -> str:
        """``statement`` (an INSERT … SELECT without its WHERE) when ``condition`` on the row
        holds: PostgreSQL tests it first and skips the query (IF … END IF), SQLite's trigger
        body has no IF, so the condition joins the WHERE."""
        if self.vendor == "postgresql":
            body = f"{statement} WHERE {where}" if where else statement
            return f"IF {condition} THEN {body}; END IF"
        return f"{statement} WHERE ({condition})" + (f" AND {where}" if where else "")

    def minus(self, moment: str, span: timedelta) -> str:
        """``moment`` minus ``span`` (whole seconds). On SQLite the stored text drops its
        fractions of a second: the bound may come out slightly earlier, never later, so a
        trigger logs a little more than it must and never less."""
        seconds = int(span.total_seconds())
        if self.vendor == "postgresql":
            return f"({moment} - interval '{seconds} seconds')"
        return f"datetime({moment}, '-{seconds} seconds')"


POSTGRESQL = Sql("postgresql")
SQLITE = Sql("sqlite")

_OPERATIONS = {
    "INSERT": pgtrigger.Insert,
    "UPDATE": pgtrigger.Update,
    "DELETE": pgtrigger.Delete,
    "TRUNCATE": pgtrigger.Truncate,
}


@dataclass(frozen=True)
class LogTrigger:
    """AFTER ``event`` ON the model's table, FOR EACH ROW (a TRUNCATE: for the statement)
    WHEN ``condition``: run ``statements`` (INSERT … SELECT …, over OLD and NEW)."""

    name: str
    model: type
    event: str
    statements: Callable[[Sql], list[str]]
    condition: Callable[[Sql], str] | None = None

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def postgresql(self) -> pgtrigger.Trigger:
        """The django-pgtrigger declaration (a proxy model's Meta.triggers)."""
        body = "\n".join(f"{statement};" for statement in self.statements(POSTGRESQL))
        return pgtrigger.Trigger(
            name=self.name,
            when=pgtrigger.After,
            operation=_OPERATIONS[self.event],
            level=pgtrigger.Statement if self.event == "TRUNCATE" else pgtrigger.Row,
            condition=pgtrigger.Condition(f"({self.condition(POSTGRESQL)})")
            if self.condition
            else None,
            func=f"{body}\nRETURN NULL;",
        )

    def sqlite(self) -> str | None:
        """CREATE TRIGGER in SQLite's syntax; None for a TRUNCATE (SQLite has none)."""
        if self.event == "TRUNCATE":
            return None
        when = f" WHEN ({self.condition(SQLITE)})" if self.condition else ""
        body = " ".join(f"{statement};" for statement in self.statements(SQLITE))
        return (
            f"CREATE TRIGGER {self.name} AFTER {self.event} ON {self.table} "
            f"FOR EACH ROW{when} BEGIN {body} END"
        )


def for_model(triggers: Iterable[LogTrigger], model) -> list[pgtrigger.Trigger]:
    """The PostgreSQL declarations of the triggers on ``model``'s table."""
    return [trigger.postgresql() for trigger in triggers if trigger.model is model]


def ensure_installed(triggers: list[LogTrigger], proxies: Iterable, using) -> bool:
    """Create whatever is missing of ``triggers``: on PostgreSQL from the proxies' pgtrigger
    declarations (normally the migrations did), on SQLite from their SQLite form (also
    replacing one whose declaration changed). Returns whether anything was missing."""
    if using.vendor == "postgresql":
        missing = [
            (proxy, trigger)
            for proxy in proxies
            for trigger in proxy._meta.triggers
            if trigger.get_installation_status(proxy, database=using.alias)[0] != "INSTALLED"
        ]
        with transaction.atomic(using=using.alias):
            for proxy, trigger in missing:
                trigger.install(proxy, database=using.alias)
        return bool(missing)
    wanted = {trigger.name: trigger.sqlite() for trigger in triggers if trigger.sqlite()}
    with using.cursor() as cursor:
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'")
        present = dict(cursor.fetchall())
    stale = [name for name, sql in wanted.items() if present.get(name) != sql]
    with transaction.atomic(using=using.alias), using.cursor() as cursor:
        for name in stale:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")
            cursor.execute(wanted[name])
    return bool(stale)


def sqlite_dropper(prefix: str):
    """For a migration's reverse: drop SQLite's triggers named ``prefix``… (made after
    migrate, outside the migrations), before the table they write to goes; PostgreSQL's
    are django-pgtrigger's, which its own operations remove."""

    def drop(apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "sqlite":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            names = [name for (name,) in cursor.fetchall() if name.startswith(prefix)]
            for name in names:
                cursor.execute(f'DROP TRIGGER "{name}"')

    return drop
