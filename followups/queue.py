"""The call queue's SQL: "next call" and the outcome of a call. These run for every dial of
twenty agents at once, so on PostgreSQL each is one statement and one round trip (the
claim: UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED), returning the agent's held
call first; the outcome: the conditional UPDATE, the dial and the history row in one WITH).
SQLite (the embedded default) has no SKIP LOCKED and no data-modifying WITH: the same
steps run as plain statements in a transaction (SQLite serialises writers anyway). The
rules of what to write live in followups.rules; this module only reads and writes."""

import functools
from datetime import datetime

from django.db import connection, transaction

from customers.contact import Purpose, contactable_sql
from shopcrm import bulk

from .models import CallAttempt, FollowUpTask
from .selectors import held_calls

Status = FollowUpTask.Status

# The contact rules are asked again as the call is handed out: a customer marked
# do-not-contact since the call was planned is skipped (the expiry sweep cancels the call).
CLAIM_SQL = """
UPDATE followups_followuptask SET status = 'claimed', assigned_to_id = %s, lease_expires_at = %s,
       updated_at = %s
 WHERE id = (SELECT t.id FROM followups_followuptask t
               JOIN customers_customer c ON c.id = t.customer_id
              WHERE t.status = 'pending' AND t.next_attempt_at <= %s
                AND (t.expires_at IS NULL OR t.expires_at > %s)
                AND {contactable}
                AND (t.kind NOT IN ({needs_consent}) OR {consented})
              ORDER BY t.priority, t.next_attempt_at, t.id
              LIMIT 1{lock})
RETURNING id
""".replace("{contactable}", contactable_sql(Purpose.CALL, "c"))
CLAIM_SQL = CLAIM_SQL.replace(
    "{needs_consent}", ", ".join(f"'{kind}'" for kind in FollowUpTask.NEEDS_CONSENT)
).replace("{consented}", contactable_sql(Purpose.MARKETING, "c"))

# What an outcome writes (followups.rules.apply_outcome decides the values).
OUTCOME_FIELDS = [
    "attempts",
    "outcome",
    "outcome_note",
    "lease_expires_at",
    "status",
    "completed_at",
    "callback_at",
    "lost_reason",
    "lost_note",
    "next_attempt_at",
    "expires_at",
    "assigned_to",
    "updated_at",
]
_OUTCOME_ATTNAMES = ["assigned_to_id" if name == "assigned_to" else name for name in OUTCOME_FIELDS]


def held_call(*, agent, now: datetime) -> FollowUpTask | None:
    """The call the agent holds (claimed, lease not run out)."""
    return held_calls(agent=agent, now=now).first()


def claim(*, agent, now: datetime, lease: datetime) -> FollowUpTask | None:
    """The agent's held call, else the most urgent due task claimed with a lease until
    ``lease``; None when nothing is due."""
    return _backend().claim(agent=agent, now=now, lease=lease)


def write_outcome(task: FollowUpTask, *, agent, lease, started_at, now) -> bool:
    """Write ``task``'s outcome fields, the dial and the history row, if the agent still
    holds the call with the same lease; False (nothing written) otherwise."""
    return _backend().write_outcome(task, agent=agent, lease=lease, started_at=started_at, now=now)


class _PostgreSQL:
    @staticmethod
    def claim(*, agent, now, lease):
        with bulk.prepared_cursor() as cursor:
            cursor.execute(
                _claim_sql(), [agent.pk, now, agent.pk, lease, now, now, now, now, agent.pk]
            )
            row = cursor.fetchone()
        if row is None:
            return None
        return FollowUpTask.from_db(
            connection.alias, [f.attname for f in FollowUpTask._meta.concrete_fields], row
        )

    @staticmethod
    def write_outcome(task, *, agent, lease, started_at, now) -> bool:
        # psycopg adapts these values as they are (Django's preparation of them is the
        # identity on PostgreSQL), so the hot path skips it.
        params = [
            *(getattr(task, attname) for attname in _OUTCOME_ATTNAMES),
            task.pk,
            agent.pk,
            lease,
            agent.pk,
            started_at,
            now,
            task.outcome,
            task.outcome_note,
            now,
            f"outcome {task.outcome}",
            agent.pk,
        ]
        with bulk.prepared_cursor() as cursor:
            cursor.execute(_outcome_sql(), params)
            return cursor.fetchone() is not None


class _SQLite:
    @staticmethod
    def claim(*, agent, now, lease):
        held = held_call(agent=agent, now=now)
        if held is not None:
            return held
        field = FollowUpTask._meta.get_field("updated_at")
        moments = [field.get_db_prep_save(value, connection) for value in (lease, now, now, now)]
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(CLAIM_SQL.format(lock=""), [agent.pk, *moments])
                row = cursor.fetchone()
            if row is None:
                return None
            bulk.write_history(FollowUpTask, [row[0]], "~", now, agent.pk, "claimed")
        return FollowUpTask.objects.get(pk=row[0])

    @staticmethod
    def write_outcome(task, *, agent, lease, started_at, now) -> bool:
        with transaction.atomic():
            updated = FollowUpTask.objects.filter(
                pk=task.pk, status=Status.CLAIMED, assigned_to=agent, lease_expires_at=lease
            ).update(**{name: getattr(task, name) for name in OUTCOME_FIELDS})
            if updated:
                CallAttempt.objects.create(
                    task=task,
                    agent=agent,
                    started_at=started_at,
                    ended_at=now,
                    outcome=task.outcome,
                    notes=task.outcome_note,
                )
                bulk.write_history(
                    FollowUpTask, [task.pk], "~", now, agent.pk, f"outcome {task.outcome}"
                )
        return bool(updated)


def _backend():
    return _PostgreSQL if connection.vendor == "postgresql" else _SQLite


def _history_columns() -> str:
    history = FollowUpTask.history.model
    return ", ".join(
        f'"{f.column}"' for f in history._meta.concrete_fields if not f.name.startswith("history_")
    )


@functools.cache
def _claim_sql() -> str:
    """Built once (reading ``FollowUpTask.history`` builds a manager class every time)."""
    selected = ", ".join(f'"{f.column}"' for f in FollowUpTask._meta.concrete_fields)
    history_table = FollowUpTask.history.model._meta.db_table
    claim = CLAIM_SQL.format(lock=" FOR UPDATE OF t SKIP LOCKED").replace(
        "RETURNING id", "RETURNING *"
    )
    # The call the agent already holds comes first; only without one is a new task claimed.
    claim = claim.replace(" WHERE id = (", " WHERE NOT EXISTS (SELECT 1 FROM held) AND id = (", 1)
    # A lease is ephemeral: losing one in a crash only returns the call to the queue, so the
    # claim need not wait for its WAL flush. set_config(…, true) inside the statement makes
    # that local to the statement's own transaction: the claim stays one round trip (under
    # load every extra round trip is another wait for a CPU).
    return (
        "WITH quick AS (SELECT set_config('synchronous_commit', 'off', true)), "
        f"held AS (SELECT {selected} FROM followups_followuptask WHERE assigned_to_id = %s "
        "AND status = 'claimed' AND lease_expires_at > %s ORDER BY lease_expires_at LIMIT 1), "
        f"claimed AS ({claim}), "
        f"logged AS (INSERT INTO {history_table} ({_history_columns()}, history_date, "
        "history_change_reason, history_type, history_user_id) "
        f"SELECT {_history_columns()}, %s, 'claimed', '~', %s FROM claimed) "
        f"SELECT {selected} FROM held UNION ALL SELECT {selected} FROM claimed, quick"
    )


@functools.cache
def _outcome_sql() -> str:
    fields = [FollowUpTask._meta.get_field(name) for name in OUTCOME_FIELDS]
    assignments = ", ".join(f'"{f.column}" = %s' for f in fields)
    history_table = FollowUpTask.history.model._meta.db_table
    columns = _history_columns()
    return (
        f"WITH updated AS (UPDATE followups_followuptask SET {assignments} "
        "WHERE id = %s AND status = 'claimed' AND assigned_to_id = %s AND lease_expires_at = %s "
        "RETURNING *), "
        "attempt AS (INSERT INTO followups_callattempt "
        "(task_id, agent_id, started_at, ended_at, outcome, notes) "
        "SELECT id, %s, %s, %s, %s, %s FROM updated), "
        f"logged AS (INSERT INTO {history_table} ({columns}, history_date, "
        "history_change_reason, history_type, history_user_id) "
        f"SELECT {columns}, %s, %s, '~', %s FROM updated) "
        "SELECT id FROM updated"
    )
