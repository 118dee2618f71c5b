"""Follow-up tasks: created once per (kind, source), claimed from the queue with a lease,
closed by the outcome of the call. Sweeps are conditional UPDATEs or inserts guarded by
the unique constraint, so running any of them twice changes nothing the second time."""

import functools
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.contact import Purpose, contactable, may_contact
from customers.models import Customer
from customers.services import customer_mark_do_not_contact
from messaging.services import message_enqueue
from shopcalendar import rules as calendar_rules
from shopcalendar import selectors as calendar
from shopcrm import bulk
from shopcrm.errors import DomainError
from visits.models import Visit

from . import policies
from .models import CallAttempt, FollowUpPolicy, FollowUpTask

Kind, Status, Outcome = FollowUpTask.Kind, FollowUpTask.Status, FollowUpTask.Outcome

PRIORITY = {
    Kind.SERVICE_RECOVERY: 10,
    Kind.COMPLAINT_CALLBACK: 10,
    Kind.POST_SERVICE: 20,
    Kind.MAINTENANCE_REMINDER: 40,
    Kind.WIN_BACK: 60,
}


def task_create(
    *,
    kind: str,
    source_key: str,
    customer: Customer,
    due_at: datetime,
    expires_at: datetime | None = None,
    vehicle=None,
    visit=None,
    reason: str = "",
) -> tuple[FollowUpTask | None, bool]:
    """Create the task for (kind, source) unless it exists: (task, created). Nothing for a
    customer the contact rules say not to call. Safe to call twice or from two processes at
    once: the unique constraint on (kind, source_key) decides."""
    if not may_contact(customer, Purpose.CALL):
        return None, False
    try:
        with transaction.atomic():
            return FollowUpTask.objects.get_or_create(
                kind=kind,
                source_key=source_key,
                defaults={
                    "customer": customer,
                    "vehicle": vehicle,
                    "visit": visit,
                    "reason": reason[:200],
                    "priority": PRIORITY.get(kind, 50),
                    "due_at": due_at,
                    "next_attempt_at": due_at,
                    "expires_at": expires_at,
                },
            )
    except IntegrityError:
        return FollowUpTask.objects.get(kind=kind, source_key=source_key), False


def post_service_task_for_visit(*, visit_id: int) -> FollowUpTask | None:
    """The three-day call (三日回访) for a delivered visit, due after the policy's delay."""
    visit = Visit.objects.select_related("customer", "vehicle").get(pk=visit_id)
    if visit.status != Visit.Status.DELIVERED or visit.delivered_at is None:
        return None
    policy = FollowUpPolicy.current()
    task, _created = task_create(
        kind=Kind.POST_SERVICE,
        source_key=f"visit:{visit.pk}",
        customer=visit.customer,
        vehicle=visit.vehicle,
        visit=visit,
        due_at=visit.delivered_at + timedelta(hours=policy.post_service_delay_hours),
        expires_at=visit.delivered_at + timedelta(days=policy.post_service_expiry_days),
        reason=_("%(date)s 交车（%(type)s，工单 %(ro)s）")
        % {
            "date": timezone.localtime(visit.delivered_at).strftime("%Y-%m-%d"),
            "type": visit.get_service_type_display(),
            "ro": visit.ro_number,
        },
    )
    return task


# ---------------------------------------------------------------- the queue


def _held_by(agent, now) -> FollowUpTask | None:
    return (
        FollowUpTask.objects.filter(
            assigned_to=agent, status=Status.CLAIMED, lease_expires_at__gt=now
        )
        .order_by("lease_expires_at")
        .first()
    )


CLAIM_SQL = """
UPDATE followups_followuptask SET status = 'claimed', assigned_to_id = %s, lease_expires_at = %s,
       updated_at = %s
 WHERE id = (SELECT id FROM followups_followuptask
              WHERE status = 'pending' AND next_attempt_at <= %s
                AND (expires_at IS NULL OR expires_at > %s)
              ORDER BY priority, next_attempt_at, id
              LIMIT 1{lock})
RETURNING id
"""


def claim_next(*, agent, now: datetime | None = None) -> FollowUpTask | None:
    """ "Next call": the agent's held call if any, else the most urgent due task, claimed in
    one statement — UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) — with a lease.
    Raises outside calling hours; None when nothing is due. Twenty agents pressing at once
    never get the same task (SQLite, which has no SKIP LOCKED, serialises writers anyway)."""
    now = now or timezone.now()
    if connection.vendor != "postgresql":
        held = _held_by(agent, now)
        if held is not None:
            return held
    policy = policies.current_policy()
    if not calendar.is_contact_time(now):
        held = _held_by(agent, now) if connection.vendor == "postgresql" else None
        if held is not None:
            return held
        hours = calendar.contact_hours()
        raise DomainError(
            _("现在不是拨打时间（%(start)s–%(end)s，休息日不拨打）。")
            % {"start": hours.start.strftime("%H:%M"), "end": hours.end.strftime("%H:%M")},
            code="outside_calling_hours",
        )
    lease = now + timedelta(minutes=policy.lease_minutes)
    if connection.vendor == "postgresql":
        return _claim_postgresql(agent=agent, now=now, lease=lease)
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


@functools.cache
def _claim_postgresql_sql() -> str:
    columns = [f.column for f in FollowUpTask._meta.concrete_fields]
    history = FollowUpTask.history.model
    history_columns = [
        f.column for f in history._meta.concrete_fields if not f.name.startswith("history_")
    ]
    quoted = ", ".join(f'"{c}"' for c in history_columns)
    selected = ", ".join(f'"{c}"' for c in columns)
    claim = CLAIM_SQL.format(lock=" FOR UPDATE SKIP LOCKED").replace("RETURNING id", "RETURNING *")
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
        f"logged AS (INSERT INTO {history._meta.db_table} ({quoted}, history_date, "
        "history_change_reason, history_type, history_user_id) "
        f"SELECT {quoted}, %s, 'claimed', '~', %s FROM claimed) "
        f"SELECT {selected} FROM held UNION ALL SELECT {selected} FROM claimed, quick"
    )


def _claim_postgresql(*, agent, now: datetime, lease: datetime) -> FollowUpTask | None:
    """One statement, one round trip: the held call, or a claim with SKIP LOCKED and its
    history row (in the caller's transaction if there is one, else its own)."""
    sql = _claim_postgresql_sql()
    with bulk.prepared_cursor() as cursor:
        cursor.execute(sql, [agent.pk, now, agent.pk, lease, now, now, now, now, agent.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    return FollowUpTask.from_db(
        connection.alias, [f.attname for f in FollowUpTask._meta.concrete_fields], row
    )


def record_outcome(
    *,
    task: FollowUpTask,
    agent,
    outcome: str,
    note: str = "",
    callback_at: datetime | None = None,
    now: datetime | None = None,
) -> FollowUpTask:
    """Close or reschedule the call the agent holds, and record the dial.

    The task is read, the new state worked out here, and then written with a conditional
    UPDATE (still claimed by this agent, same lease): if the lease ran out or the task was
    reassigned meanwhile, nothing is written and the agent is told."""
    now = now or timezone.now()
    if outcome not in Outcome.values:
        raise ValidationError({"outcome": [_("请选择通话结果。")]})
    if outcome == Outcome.REACHED_ISSUE and not note.strip():
        raise ValidationError({"note": [_("请记下客户反映的问题。")]})
    if outcome == Outcome.CALLBACK and (callback_at is None or callback_at <= now):
        raise ValidationError({"callback_at": [_("请填写一个将来的回拨时间。")]})
    # ``task`` as the caller read it: the write below is conditional on the claim still being
    # this agent's, with the same lease, so a stale copy writes nothing and is refused.
    if (
        task.status != Status.CLAIMED
        or task.assigned_to_id != agent.pk
        or task.lease_expires_at is None
    ):
        raise _not_held()
    policy = policies.current_policy()
    lease = task.lease_expires_at
    started_at = lease - timedelta(minutes=policy.lease_minutes)
    task.attempts += 1
    task.outcome = outcome
    task.outcome_note = note
    task.lease_expires_at = None
    task.updated_at = now
    if outcome in (*FollowUpTask.REACHED, Outcome.REFUSED):
        task.status, task.completed_at = Status.DONE, now
    elif outcome == Outcome.WRONG_NUMBER:
        task.status, task.completed_at = Status.FAILED, now
    elif outcome == Outcome.CALLBACK:
        task.status, task.callback_at, task.next_attempt_at = (
            Status.PENDING,
            callback_at,
            callback_at,
        )
        if task.expires_at and task.expires_at < callback_at:
            task.expires_at = callback_at + timedelta(days=1)  # the customer asked for that time
    elif task.attempts >= policy.max_attempts:  # no answer or busy, the last try
        task.status, task.completed_at = Status.FAILED, now
    else:
        task.status = Status.PENDING
        task.next_attempt_at = policies.next_retry(now, task.attempts, policy)
    if task.status == Status.PENDING:
        task.assigned_to = None

    if outcome != Outcome.REFUSED and connection.vendor == "postgresql":
        # One statement: its own transaction.
        if not _write_outcome(task, agent=agent, lease=lease, started_at=started_at, now=now):
            raise _not_held()
        return task
    with transaction.atomic():
        if not _write_outcome(task, agent=agent, lease=lease, started_at=started_at, now=now):
            raise _not_held()
        if outcome == Outcome.REFUSED:
            _set_do_not_contact(task.customer, agent, now)
    return task


def _not_held() -> DomainError:
    return DomainError(
        _("这个回访任务不在您手上（可能已超时释放或被改派），请点“下一个”。"), code="not_held"
    )


def _write_outcome(task, *, agent, lease, started_at, now) -> bool:
    """One statement: update the task if the agent still holds it, record the dial, write
    the history row (the queue's hot path; the ORM's save and history signal cost 3×).
    SQLite has no data-modifying WITH, so there it is three statements in the transaction."""
    if connection.vendor != "postgresql":
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
    # On PostgreSQL psycopg adapts these values as they are (Django's preparation of them is
    # the identity there), so the hot path skips it.
    values = [getattr(task, attname) for attname in _OUTCOME_ATTNAMES]
    params = [
        *values,
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
    sql = _outcome_postgresql_sql()
    with bulk.prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


OUTCOME_FIELDS = [
    "attempts",
    "outcome",
    "outcome_note",
    "lease_expires_at",
    "status",
    "completed_at",
    "callback_at",
    "next_attempt_at",
    "expires_at",
    "assigned_to",
    "updated_at",
]
_OUTCOME_ATTNAMES = ["assigned_to_id" if name == "assigned_to" else name for name in OUTCOME_FIELDS]


@functools.cache
def _outcome_postgresql_sql() -> str:
    """Built once: reading ``FollowUpTask.history`` builds a manager class every time, which
    was a third of the agent process's CPU per call."""
    fields = [FollowUpTask._meta.get_field(name) for name in OUTCOME_FIELDS]
    assignments = ", ".join(f'"{f.column}" = %s' for f in fields)
    history = FollowUpTask.history.model
    columns = ", ".join(
        f'"{f.column}"' for f in history._meta.concrete_fields if not f.name.startswith("history_")
    )
    return (
        f"WITH updated AS (UPDATE followups_followuptask SET {assignments} "
        "WHERE id = %s AND status = 'claimed' AND assigned_to_id = %s AND lease_expires_at = %s "
        "RETURNING *), "
        "attempt AS (INSERT INTO followups_callattempt "
        "(task_id, agent_id, started_at, ended_at, outcome, notes) "
        "SELECT id, %s, %s, %s, %s, %s FROM updated), "
        f"logged AS (INSERT INTO {history._meta.db_table} ({columns}, history_date, "
        "history_change_reason, history_type, history_user_id) "
        f"SELECT {columns}, %s, %s, '~', %s FROM updated) "
        "SELECT id FROM updated"
    )


def _set_do_not_contact(customer: Customer, agent, now) -> None:
    customer_mark_do_not_contact(customer=customer, by=agent, reason="refused on a follow-up call")
    FollowUpTask.objects.filter(customer=customer, status=Status.PENDING).update(
        status=Status.CANCELLED, outcome_note=_("客户要求勿扰"), updated_at=now
    )


@transaction.atomic
def task_reassign(*, task: FollowUpTask, to_agent, by) -> FollowUpTask:
    task = FollowUpTask.objects.select_for_update().get(pk=task.pk)
    if task.status not in FollowUpTask.OPEN:
        raise DomainError(_("已结束的任务不能改派。"), code="closed")
    task.status = Status.CLAIMED
    task.assigned_to = to_agent
    task.lease_expires_at = timezone.now() + timedelta(
        minutes=FollowUpPolicy.current().lease_minutes
    )
    task._history_user = by
    task.save()
    return task


@transaction.atomic
def task_cancel(*, task: FollowUpTask, by, reason: str) -> FollowUpTask:
    task = FollowUpTask.objects.select_for_update().get(pk=task.pk)
    if task.status not in FollowUpTask.OPEN:
        raise DomainError(_("已结束的任务不能取消。"), code="closed")
    if not reason.strip():
        raise ValidationError({"reason": [_("请填写取消原因。")]})
    task.status, task.outcome_note = Status.CANCELLED, reason.strip()
    task.assigned_to, task.lease_expires_at = None, None
    task._history_user = by
    task.save()
    return task


# ---------------------------------------------------------------- sweeps


def release_expired_leases(*, now: datetime | None = None) -> int:
    """An agent who walked away loses the call: it goes back to the queue."""
    now = now or timezone.now()
    return FollowUpTask.objects.filter(status=Status.CLAIMED, lease_expires_at__lte=now).update(
        status=Status.PENDING, assigned_to=None, lease_expires_at=None, updated_at=now
    )


def expire_stale(*, now: datetime | None = None) -> int:
    """Open tasks past their latest useful time are expired (a 3-day call on day 8 is useless)."""
    now = now or timezone.now()
    # One arm per status, so each uses its partial index (pending: expiry, claimed: held).
    stale = Q(status=Status.PENDING, expires_at__lte=now) | Q(
        status=Status.CLAIMED, expires_at__lte=now
    )
    return FollowUpTask.objects.filter(stale).update(
        status=Status.EXPIRED, assigned_to=None, lease_expires_at=None, updated_at=now
    )


def _last_delivered_visits(*, since: datetime, until: datetime):
    """(vehicle_id, customer_id, last delivered_at, odometer) of vehicles whose latest delivered
    visit falls between ``since`` and ``until``."""
    latest = (
        Visit.objects.filter(status=Visit.Status.DELIVERED)
        .values("vehicle_id")
        .annotate(last=Max("delivered_at"))
        .filter(last__gte=since, last__lt=until)
    )
    last_by_vehicle = {row["vehicle_id"]: row["last"] for row in latest}
    visits = Visit.objects.filter(
        vehicle_id__in=last_by_vehicle, status=Visit.Status.DELIVERED
    ).select_related("vehicle", "customer")
    for visit in visits.iterator():
        if visit.delivered_at == last_by_vehicle[visit.vehicle_id]:
            yield visit


def predicted_next_service(*, visit: Visit, policy: FollowUpPolicy):
    """METRICS.md: last visit date plus the interval in days, or sooner, the days needed to
    cover the interval in km at the vehicle's average daily mileage."""
    last_day = timezone.localtime(visit.delivered_at).date()
    days = policy.service_interval_days
    registered = visit.vehicle.registration_date
    if registered and visit.odometer_km and (last_day - registered).days > 0:
        daily_km = visit.odometer_km / (last_day - registered).days
        if daily_km > 0:
            days = min(days, int(policy.service_interval_km / daily_km))
    return last_day + timedelta(days=days)


def create_maintenance_reminders(*, today=None) -> int:
    """Reminder calls for vehicles whose next service is due within the lead time."""
    today = today or timezone.localdate()
    policy = FollowUpPolicy.current()
    now = timezone.now()
    window_start = now - timedelta(days=policy.service_interval_days + 30)
    created = 0
    for visit in _last_delivered_visits(since=window_start, until=now):
        due = predicted_next_service(visit=visit, policy=policy)
        if not (
            today <= due + timedelta(days=30)
            and due - timedelta(days=policy.reminder_lead_days) <= today
        ):
            continue
        _task, was_created = task_create(
            kind=Kind.MAINTENANCE_REMINDER,
            source_key=f"vehicle:{visit.vehicle_id}:{due}",
            customer=visit.customer,
            vehicle=visit.vehicle,
            visit=visit,
            due_at=calendar.next_contact_moment(now),
            expires_at=calendar_rules.start_of(due + timedelta(days=30)),
            reason=_("预计 %(date)s 需要保养") % {"date": due.isoformat()},
        )
        created += was_created
        if was_created:
            # The reminder also goes out by SMS, with the customer's consent only.
            message_enqueue(
                purpose="maintenance_reminder",
                contact_purpose=Purpose.MARKETING,
                customer=visit.customer,
                object_key=f"vehicle:{visit.vehicle_id}:{due}",
                body=_(
                    "【%(shop)s】您的爱车 %(plate)s 预计 %(date)s 需要保养，欢迎预约。回复 T 退订"
                )
                % {
                    "shop": settings.SHOP_NAME,
                    "plate": visit.vehicle.plate or visit.vehicle.vin,
                    "date": due.isoformat(),
                },
                template_code=settings.SMS_TEMPLATE_MAINTENANCE_REMINDER,
                params={"plate": visit.vehicle.plate or visit.vehicle.vin, "date": due.isoformat()},
            )
    return created


def create_win_backs(*, today=None) -> int:
    """Win-back calls for lapsed customers, at most one per customer per cool-down."""
    today = today or timezone.localdate()
    policy = FollowUpPolicy.current()
    now = timezone.now()
    lapsed_before = now - timedelta(days=policy.churn_days)
    cooldown_since = now - timedelta(days=policy.win_back_cooldown_days)
    recent = set(
        FollowUpTask.objects.filter(kind=Kind.WIN_BACK, created_at__gte=cooldown_since).values_list(
            "customer_id", flat=True
        )
    )
    last_visits = (
        Visit.objects.filter(
            contactable(Purpose.CALL, prefix="customer__"),
            status=Visit.Status.DELIVERED,
            customer__merged_into__isnull=True,
        )
        .values("customer_id")
        .annotate(last=Max("delivered_at"))
        .filter(last__lt=lapsed_before, last__gte=lapsed_before - timedelta(days=365))
    )
    created = 0
    customers = {
        c.pk: c for c in Customer.objects.filter(pk__in=[row["customer_id"] for row in last_visits])
    }
    for row in last_visits:
        if row["customer_id"] in recent:
            continue
        last_day = timezone.localtime(row["last"]).date()
        source_key = f"customer:{row['customer_id']}:{last_day}"
        _task, was_created = task_create(
            kind=Kind.WIN_BACK,
            source_key=source_key,
            customer=customers[row["customer_id"]],
            due_at=calendar.next_contact_moment(now),
            expires_at=now + timedelta(days=30),
            reason=_("上次回厂 %(date)s，已超过 %(days)s 天")
            % {"date": last_day.isoformat(), "days": policy.churn_days},
        )
        created += was_created
    return created


def win_back_create_for(*, customers) -> int:
    """Win-back calls for customers a manager picked from the at-risk or lapsed list: the
    same source key as the sweep (customer and last visit date) and the same cool-down, so
    a customer gets one call however often it is asked for."""
    policy = FollowUpPolicy.current()
    now = timezone.now()
    cooldown_since = now - timedelta(days=policy.win_back_cooldown_days)
    recent = set(
        FollowUpTask.objects.filter(kind=Kind.WIN_BACK, created_at__gte=cooldown_since).values_list(
            "customer_id", flat=True
        )
    )
    last_visits = dict(
        Visit.objects.filter(status=Visit.Status.DELIVERED, customer__in=customers)
        .values("customer_id")
        .annotate(last=Max("delivered_at"))
        .values_list("customer_id", "last")
    )
    created = 0
    for customer in customers:
        last = last_visits.get(customer.pk)
        if last is None or customer.pk in recent or customer.merged_into_id:
            continue
        last_day = timezone.localtime(last).date()
        _task, was_created = task_create(
            kind=Kind.WIN_BACK,
            source_key=f"customer:{customer.pk}:{last_day}",
            customer=customer,
            due_at=calendar.next_contact_moment(now),
            expires_at=now + timedelta(days=30),
            reason=_("上次回厂 %(date)s（经理从流失名单中选出）") % {"date": last_day.isoformat()},
        )
        created += was_created
    return created
