"""Follow-up tasks: created once per (kind, source), claimed from the queue with a lease,
closed by the outcome of the call. Sweeps are conditional UPDATEs or inserts guarded by
the unique constraint, so running any of them twice changes nothing the second time. The
queue's rules are plain functions (followups.rules) and its hot SQL has a module of its own
(followups.queue)."""

from collections.abc import Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.contact import Purpose, contactable, may_contact
from customers.models import Customer, ValueTier, Vehicle
from customers.services import customer_mark_do_not_contact
from messaging.services import message_enqueue, sent_in_one_batch
from shopcalendar import rules as calendar_rules
from shopcalendar import selectors as calendar
from shopcrm.errors import DomainError
from visits.models import Appointment, Visit

from . import queue, rules, sources, states
from .booking_links import booking_link
from .models import FollowUpPolicy, FollowUpTask
from .selectors import current_policy, next_services
from .sources import Source

Kind, Status, Outcome = FollowUpTask.Kind, FollowUpTask.Status, FollowUpTask.Outcome
WORK_PERMISSION = "followups.work_queue"  # who may take calls (followups.access.WORK)
SUPERVISE_PERMISSION = "followups.supervise_queue"  # followups.access.SUPERVISE


def task_create(
    *,
    kind: str,
    source: Source,
    customer: Customer,
    due_at: datetime,
    expires_at: datetime | None = None,
    vehicle=None,
    visit=None,
    visit_id: int | None = None,
    reason: str = "",
    appointment=None,
) -> tuple[FollowUpTask | None, bool]:
    """Create the task for (kind, source) unless it exists: (task, created). Nothing for a
    customer the contact rules say not to call. Safe to call twice or from two processes at
    once: the unique constraint on (kind, source key) decides (followups.sources)."""
    if not may_contact(customer, Purpose.CALL):
        return None, False
    try:
        with transaction.atomic():
            return FollowUpTask.objects.get_or_create(
                kind=kind,
                source_key=source.key,
                defaults={
                    "customer": customer,
                    "vehicle": vehicle,
                    "visit_id": visit.pk if visit is not None else visit_id,
                    "appointment": appointment,
                    "reason": reason[:200],
                    "priority": rules.priority_of(kind, vip=_vip_first(customer)),
                    "due_at": due_at,
                    "next_attempt_at": due_at,
                    "expires_at": expires_at,
                },
            )
    except IntegrityError:
        return FollowUpTask.objects.get(kind=kind, source_key=source.key), False


def _vip_first(customer: Customer) -> bool:
    return customer.value_tier == ValueTier.VIP and current_policy().vip_first


def task_priorities_apply() -> int:
    """Waiting calls take the priority their kind and customer have now: after the value
    tiers were refreshed (a customer became or stopped being VIP) or the policy's "VIP
    first" was switched. Only the pending calls whose priority is their kind's computed
    one (either way) are moved, so a priority an administrator set by hand stays; a second
    run changes nothing. Returns how many calls it moved."""
    vip_first = current_policy().vip_first
    vips = Customer.objects.filter(value_tier=ValueTier.VIP).values("pk")
    moved = 0
    for kind in Kind.values:
        plain, ahead = rules.priority_of(kind), rules.priority_of(kind, vip=True)
        pending = FollowUpTask.objects.filter(
            kind=kind, status=Status.PENDING, priority__in=[plain, ahead]
        )
        if vip_first:
            moved += pending.filter(customer_id__in=vips, priority=plain).update(priority=ahead)
            moved += (
                pending.exclude(customer_id__in=vips).filter(priority=ahead).update(priority=plain)
            )
        else:
            moved += pending.filter(priority=ahead).update(priority=plain)
    return moved


def post_service_task_create(*, visit_id: int) -> FollowUpTask | None:
    """The three-day call (三日回访) for a delivered visit, due after the policy's delay."""
    visit = Visit.objects.select_related("customer", "vehicle").get(pk=visit_id)
    if visit.status != Visit.Status.DELIVERED or visit.delivered_at is None:
        return None
    policy = FollowUpPolicy.current()
    task, _created = task_create(
        kind=Kind.POST_SERVICE,
        source=sources.of_visit(visit.pk),
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


def post_service_task_create_missing(*, now: datetime | None = None, limit: int = 2000) -> int:
    """Beat sweep: the three-day call of every visit delivered within the look-back that
    has none, for customers the contact rules let us call. The "visit delivered" event is
    the fast path; this is the guarantee (a broker down at the wrong moment loses the
    event's task, never the call). Returns how many visits it found without their call."""
    now = now or timezone.now()
    policy = FollowUpPolicy.current()
    since = max(
        now - settings.SHOPCRM_DELIVERED_EVENT_LOOK_BACK,
        now - timedelta(days=policy.post_service_expiry_days),
    )
    missing = (
        Visit.objects.filter(
            status=Visit.Status.DELIVERED, delivered_at__gte=since, delivered_at__lte=now
        )
        .filter(contactable(Purpose.CALL, prefix="customer__"))
        .exclude(
            Exists(FollowUpTask.objects.filter(kind=Kind.POST_SERVICE, visit_id=OuterRef("pk")))
        )
        .order_by("delivered_at")
        .values_list("pk", flat=True)[:limit]
    )
    missing = list(missing)
    for pk in missing:
        post_service_task_create(visit_id=pk)
    return len(missing)


# ---------------------------------------------------------------- the queue


def task_claim_next(*, agent, now: datetime | None = None) -> FollowUpTask | None:
    """ "Next call": the agent's held call if any, else the most urgent due task, claimed
    with a lease (followups.queue: twenty agents pressing at once never get the same task).
    Outside the shop's contact hours only a held call is given back, else a refusal; None
    when nothing is due."""
    now = now or timezone.now()
    policy = current_policy()
    if not calendar.is_contact_time(now):
        held = queue.held_call(agent=agent, now=now)
        if held is not None:
            return held
        hours = calendar.contact_hours()
        raise DomainError(
            _("现在不是拨打时间（%(start)s–%(end)s，休息日不拨打）。")
            % {"start": hours.start.strftime("%H:%M"), "end": hours.end.strftime("%H:%M")},
            code="outside_calling_hours",
        )
    return queue.claim(agent=agent, now=now, lease=now + timedelta(minutes=policy.lease_minutes))


def task_record_outcome(
    *,
    task: FollowUpTask,
    agent,
    outcome: str,
    note: str = "",
    callback_at: datetime | None = None,
    now: datetime | None = None,
    appointment=None,
    lost_reason: str = "",
    lost_note: str = "",
) -> FollowUpTask:
    """Close or reschedule the call the agent holds, and record the dial (followups.rules
    decides what the outcome does). ``task`` as the caller read it: the write is conditional
    on the claim still being this agent's with the same lease, so if the lease ran out or
    the task was reassigned meanwhile nothing is written and the agent is told. A refusal
    marks the customer do-not-contact and cancels their other open calls, in the same
    transaction. "Booked" needs the ``appointment`` the call booked (bookings), which is
    linked to the task in the same transaction. "Lost" (and a win-back reached without a
    booking) carries the coded reason why the customer leaves (followups.rules)."""
    now = now or timezone.now()
    errors = rules.outcome_errors(
        outcome=outcome,
        note=note,
        callback_at=callback_at,
        now=now,
        kind=task.kind,
        booked=appointment is not None,
        lost_reason=lost_reason,
        lost_note=lost_note,
    )
    if errors:
        raise ValidationError(errors)
    if (
        task.status != Status.CLAIMED
        or task.assigned_to_id != agent.pk
        or task.lease_expires_at is None
    ):
        raise _not_held()
    policy = current_policy()
    lease = task.lease_expires_at
    hours, holidays = calendar.contact_context(now)
    rules.apply_outcome(
        task,
        outcome=outcome,
        note=note,
        callback_at=callback_at,
        now=now,
        policy=policy,
        contact=rules.ContactHours(hours, frozenset(holidays)),
        lost_reason=lost_reason,
        lost_note=lost_note,
    )
    # The plain outcome is one statement (its own transaction): the queue's hot path.
    plain = outcome not in (Outcome.REFUSED, Outcome.BOOKED)
    with nullcontext() if plain else transaction.atomic():
        started_at = rules.dial_started(lease, policy)
        if not queue.write_outcome(task, agent=agent, lease=lease, started_at=started_at, now=now):
            raise _not_held()
        if outcome == Outcome.REFUSED:
            _refused(task.customer, agent)
        if outcome == Outcome.BOOKED:
            FollowUpTask.objects.filter(pk=task.pk).update(appointment=appointment)
            task.appointment = appointment
    return task


def _not_held() -> DomainError:
    return DomainError(
        _("这个回访任务不在您手上（可能已超时释放或被改派），请点“下一个”。"), code="not_held"
    )


def _refused(customer: Customer, agent) -> None:
    # The customer's other planned calls, messages and invitations go with the mark
    # (customers.events: contact withdrawn).
    customer_mark_do_not_contact(customer=customer, by=agent, reason="refused on a follow-up call")


def _cancel_pending(tasks, now: datetime) -> int:
    return tasks.filter(status=Status.PENDING).update(
        status=Status.CANCELLED, outcome_note=_("客户要求勿扰"), updated_at=now
    )


def tasks_cancel_waiting(*, task_ids, note: str) -> int:
    """The calls among ``task_ids`` still waiting in the queue are cancelled with ``note``
    (a campaign ended or cancelled). A call an agent holds right now is left to finish."""
    return FollowUpTask.objects.filter(pk__in=list(task_ids), status=Status.PENDING).update(
        status=Status.CANCELLED, outcome_note=note[:200], updated_at=timezone.now()
    )


@transaction.atomic
def task_reassign(*, task: FollowUpTask, to_agent, by) -> FollowUpTask:
    task = FollowUpTask.objects.select_for_update().get(pk=task.pk)
    if task.status not in FollowUpTask.OPEN:
        raise DomainError(_("已结束的任务不能改派。"), code="closed")
    task.status = Status.CLAIMED
    task.assigned_to = to_agent
    task.lease_expires_at = timezone.now() + timedelta(minutes=current_policy().lease_minutes)
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


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action on the team queue did: how many tasks it changed, and how many it
    left as they were, by their status (finished, or an agent is on the call)."""

    changed: int
    skipped: dict[str, int] = field(default_factory=dict)


def task_bulk_reassign(*, tasks: Iterable[FollowUpTask], to_agent, by) -> BulkResult:
    """Give the waiting calls among ``tasks`` to ``to_agent`` (claimed for them with a
    lease, as one reassignment does); calls finished or being dialled are left alone and
    counted. Refused as a whole, with nothing written, unless ``by`` supervises the queue
    and ``to_agent`` may take calls."""
    _check_supervisor(by)
    if to_agent is None or not (to_agent.is_active and to_agent.has_perm(WORK_PERMISSION)):
        raise DomainError(_("改派对象必须是可以接听回访的专员。"), code="not_an_agent")
    lease = timezone.now() + timedelta(minutes=current_policy().lease_minutes)
    return _bulk_change(
        tasks,
        by=by,
        change={"status": Status.CLAIMED, "assigned_to": to_agent, "lease_expires_at": lease},
    )


def task_bulk_cancel(*, tasks: Iterable[FollowUpTask], by, reason: str) -> BulkResult:
    """Cancel the waiting calls among ``tasks`` with ``reason``; calls finished or being
    dialled are left alone and counted. Refused as a whole, with nothing written, without
    a reason or unless ``by`` supervises the queue."""
    _check_supervisor(by)
    if not reason.strip():
        raise ValidationError({"reason": [_("请填写取消原因。")]})
    return _bulk_change(
        tasks,
        by=by,
        change={
            "status": Status.CANCELLED,
            "outcome_note": reason.strip()[:200],
            "assigned_to": None,
            "lease_expires_at": None,
        },
    )


def _check_supervisor(user) -> None:
    if not (user.is_active and user.has_perm(SUPERVISE_PERMISSION)):
        raise DomainError(_("只有主管可以批量改派或取消回访。"), code="not_a_supervisor")


@transaction.atomic
def _bulk_change(tasks: Iterable[FollowUpTask], *, by, change: dict) -> BulkResult:
    """Only a waiting (pending) call is changed: its state is read again under a row lock,
    so a call an agent claims meanwhile is skipped, never taken from them."""
    ids = [task.pk for task in tasks]
    if not ids:
        raise DomainError(_("请先勾选回访任务。"), code="nothing_selected")
    locked = list(FollowUpTask.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
    skipped: dict[str, int] = {}
    changed = 0
    for task in locked:
        if task.status != Status.PENDING:
            skipped[task.status] = skipped.get(task.status, 0) + 1
            continue
        for name, value in change.items():
            setattr(task, name, value)
        task._history_user = by  # each change is in the task's history, with who
        task.save()
        changed += 1
    return BulkResult(changed=changed, skipped=skipped)


# ---------------------------------------------------------------- sweeps


def lease_release_expired(*, now: datetime | None = None) -> int:
    """An agent who walked away loses the call: it goes back to the queue."""
    now = now or timezone.now()
    return FollowUpTask.objects.filter(status=Status.CLAIMED, lease_expires_at__lte=now).update(
        status=Status.PENDING, assigned_to=None, lease_expires_at=None, updated_at=now
    )


def task_expire_stale(*, now: datetime | None = None) -> int:
    """Open tasks past their latest useful time are expired (a 3-day call on day 8 is useless)."""
    now = now or timezone.now()
    # One arm per status, so each uses its partial index (pending: expiry, claimed: held).
    stale = Q(status=Status.PENDING, expires_at__lte=now) | Q(
        status=Status.CLAIMED, expires_at__lte=now
    )
    return FollowUpTask.objects.filter(stale).update(
        status=Status.EXPIRED, assigned_to=None, lease_expires_at=None, updated_at=now
    )


def task_cancel_uncontactable(
    *, customer_ids: Iterable[int] | None = None, now: datetime | None = None
) -> int:
    """Planned calls to customers who may no longer be called (for a campaign call: who
    withdrew their marketing consent) are cancelled: at once for
    ``customer_ids`` (customers.events, in the transaction that marked them), and for
    everyone by the lease sweep, which catches any path that sent no event. The claim
    skips them meanwhile (followups.queue)."""
    now = now or timezone.now()
    # Campaign calls also need the marketing consent (FollowUpTask.NEEDS_CONSENT).
    refused = ~contactable(Purpose.CALL, "customer__") | (
        Q(kind__in=FollowUpTask.NEEDS_CONSENT) & ~contactable(Purpose.MARKETING, "customer__")
    )
    tasks = FollowUpTask.objects.filter(refused)
    if customer_ids is not None:
        tasks = tasks.filter(customer_id__in=customer_ids)
    return _cancel_pending(tasks, now)


REMINDER_LATE_DAYS = 30  # past the predicted day, the win-back takes over


def reminder_create_due(*, today: date | None = None) -> int:
    """Reminder calls (and, with consent, an SMS) for vehicles whose predicted next service
    (followups.states) falls from the lead time ahead to 30 days past: once per vehicle and
    predicted service day."""
    today = today or timezone.localdate()
    policy = FollowUpPolicy.current()
    now = timezone.now()
    due = states.latest_vehicle_states(
        due_from=today - timedelta(days=REMINDER_LATE_DAYS),
        due_to=today + timedelta(days=policy.reminder_lead_days),
    )
    vehicles = Vehicle.objects.in_bulk([state.vehicle_id for state in due])
    customers = Customer.objects.in_bulk([state.customer_id for state in due])
    created = 0
    with sent_in_one_batch():
        for state in due:
            created += _reminder_create(state, vehicles, customers, now)
    return created


def _reminder_create(state, vehicles: dict, customers: dict, now: datetime) -> bool:
    vehicle, customer = vehicles[state.vehicle_id], customers[state.customer_id]
    source = sources.of_vehicle_service(state.vehicle_id, state.due_day)
    _task, was_created = task_create(
        kind=Kind.MAINTENANCE_REMINDER,
        source=source,
        customer=customer,
        vehicle=vehicle,
        visit_id=state.visit_id,
        due_at=calendar.next_contact_moment(now),
        expires_at=calendar_rules.start_of(state.due_day + timedelta(days=REMINDER_LATE_DAYS)),
        reason=_("预计 %(date)s 需要保养") % {"date": state.due_day.isoformat()},
    )
    if was_created:
        _reminder_message(customer, vehicle, state.due_day, source)
    return was_created


def _reminder_message(customer: Customer, vehicle: Vehicle, due, source: Source) -> None:
    """The reminder also goes out by SMS, with the customer's consent only, carrying the
    booking link with the predicted day picked (a day already past: tomorrow)."""
    if not may_contact(customer, Purpose.MARKETING):
        return
    plate = vehicle.plate or vehicle.vin
    link = booking_link(vehicle_id=vehicle.pk, suggested=max(due, _tomorrow()))
    message_enqueue(
        purpose="maintenance_reminder",
        contact_purpose=Purpose.MARKETING,
        customer=customer,
        object_key=source.key,
        body=_(
            "【%(shop)s】您的爱车 %(plate)s 预计 %(date)s 需要保养，在线预约：%(link)s 回复 T 退订"
        )
        % {"shop": settings.SHOP_NAME, "plate": plate, "date": due.isoformat(), "link": link},
        template_code=settings.SMS_TEMPLATE_MAINTENANCE_REMINDER,
        params={"plate": plate, "date": due.isoformat(), "link": link},
        secret_params=("link",),
    )


def _tomorrow() -> date:
    return timezone.localdate() + timedelta(days=1)


def win_back_create_due(*, today: date | None = None) -> int:
    """Win-back calls for lapsed customers (last visit more than the churn days ago, within
    the year before that: followups.states), at most one per customer per cool-down."""
    today = today or timezone.localdate()
    policy = FollowUpPolicy.current()
    lapsed_before = today - timedelta(days=policy.churn_days)
    lapsed = states.latest_customer_states(
        last_from=lapsed_before - timedelta(days=365), last_before=lapsed_before
    )
    customers = (
        Customer.objects.filter(contactable(Purpose.CALL), merged_into__isnull=True)
        .filter(pk__in=lapsed.values("customer_id"))
        .exclude(pk__in=_recent_win_backs(policy))
        .annotate(last_day=states.last_visit_day())
    )
    with sent_in_one_batch():
        return sum(
            _win_back(
                customer,
                _("上次回厂 %(date)s，已超过 %(days)s 天")
                % {"date": customer.last_day.isoformat(), "days": policy.churn_days},
            )
            for customer in customers
        )


def win_back_create_for(*, customers: Iterable[Customer]) -> int:
    """Win-back calls for customers a manager picked from the at-risk or lapsed list: the
    same source key as the sweep (customer and last visit date) and the same cool-down, so
    a customer gets one call however often it is asked for."""
    policy = FollowUpPolicy.current()
    picked = (
        Customer.objects.filter(pk__in=[customer.pk for customer in customers])
        .filter(merged_into__isnull=True)
        .exclude(pk__in=_recent_win_backs(policy))
        .annotate(last_day=states.last_visit_day())
        .filter(last_day__isnull=False)
    )
    return sum(
        _win_back(
            customer,
            _("上次回厂 %(date)s（经理从流失名单中选出）")
            % {"date": customer.last_day.isoformat()},
        )
        for customer in picked
    )


def _recent_win_backs(policy: FollowUpPolicy):
    cooldown_since = timezone.now() - timedelta(days=policy.win_back_cooldown_days)
    return FollowUpTask.objects.filter(kind=Kind.WIN_BACK, created_at__gte=cooldown_since).values(
        "customer_id"
    )


def _win_back(customer: Customer, reason: str) -> bool:
    now = timezone.now()
    source = sources.of_lapse(customer.pk, customer.last_day)
    _task, created = task_create(
        kind=Kind.WIN_BACK,
        source=source,
        customer=customer,
        due_at=calendar.next_contact_moment(now),
        expires_at=now + timedelta(days=30),
        reason=reason,
    )
    if created:
        _win_back_message(customer, source)
    return created


# How long a recommended-work call stays in the queue after it falls due.
RECOMMENDATION_CALL_WINDOW = timedelta(days=30)


def _win_back_message(customer: Customer, source: Source) -> None:
    """With the customer's consent, the win-back call is preceded by an SMS carrying the
    booking link of their car (the latest of their current cars), with its predicted
    service day picked (tomorrow when that is past, as it is for a lapsed customer)."""
    vehicle = customer.vehicles.filter(is_active=True).order_by("-updated_at").first()
    if vehicle is None or not may_contact(customer, Purpose.MARKETING):
        return
    due = next_services(vehicles=[vehicle]).get(vehicle.pk) or _tomorrow()
    link = booking_link(vehicle_id=vehicle.pk, suggested=max(due, _tomorrow()))
    plate = vehicle.plate or vehicle.vin
    message_enqueue(
        purpose="win_back",
        contact_purpose=Purpose.MARKETING,
        customer=customer,
        object_key=source.key,
        body=_(
            "【%(shop)s】好久不见！您的爱车 %(plate)s 该回店保养了，在线预约：%(link)s 回复 T 退订"
        )
        % {"shop": settings.SHOP_NAME, "plate": plate, "link": link},
        template_code=settings.SMS_TEMPLATE_WIN_BACK,
        params={"plate": plate, "link": link},
        secret_params=("link",),
    )


def recommended_work_call_create(*, recommendation, now: datetime | None = None) -> bool:
    """The call about one open recommendation (work the customer declined or deferred: the
    vehicle's visits.Recommendation), due the policy's days after it was made, once per
    recommendation (its source key). The "extra work answered" receiver calls it for the
    answer's recommendation; the reminders sweep for any it missed."""
    now = now or timezone.now()
    after = timedelta(days=FollowUpPolicy.current().recommendation_call_days)
    due = max(recommendation.created_at + after, now)
    _task, created = task_create(
        kind=Kind.RECOMMENDED_WORK,
        source=sources.of_recommendation(recommendation.pk),
        customer=recommendation.vehicle.owner,
        vehicle=recommendation.vehicle,
        visit_id=recommendation.item.visit_id,
        due_at=calendar.next_contact_moment(due),
        expires_at=due + RECOMMENDATION_CALL_WINDOW,
        reason=_("上次建议：%(item)s（%(date)s）")
        % {
            "item": recommendation.item.description,
            "date": timezone.localdate(recommendation.created_at).isoformat(),
        },
    )
    return created


def recommended_work_calls_sync(*, now: datetime | None = None) -> dict:
    """Reminders sweep: the call of every open recommendation that has none (and whose call
    would not be born expired: made within the interval plus the call's window), and the
    calls not yet made about recommendations a later visit has since included are
    cancelled."""
    from visits.models import Recommendation

    now = now or timezone.now()
    after = timedelta(days=FollowUpPolicy.current().recommendation_call_days)
    waiting = list(
        Recommendation.objects.filter(
            status=Recommendation.Status.OPEN,
            created_at__gt=now - after - RECOMMENDATION_CALL_WINDOW,
        ).select_related("vehicle__owner", "item")
    )
    made = set(
        FollowUpTask.objects.filter(
            kind=Kind.RECOMMENDED_WORK,
            source_key__in=[sources.of_recommendation(r.pk).key for r in waiting],
        ).values_list("source_key", flat=True)
    )
    created = sum(
        recommended_work_call_create(recommendation=recommendation, now=now)
        for recommendation in waiting
        if sources.of_recommendation(recommendation.pk).key not in made
    )
    done_keys = [
        sources.of_recommendation(pk).key
        for pk in Recommendation.objects.filter(
            status=Recommendation.Status.DONE, done_at__gte=now - timedelta(days=120)
        ).values_list("pk", flat=True)
    ]
    cancelled = FollowUpTask.objects.filter(
        kind=Kind.RECOMMENDED_WORK, source_key__in=done_keys, status=Status.PENDING
    ).update(
        status=Status.CANCELLED,
        outcome_note=_("建议的项目已在之后的工单中完成"),
        updated_at=now,
    )
    return {"created": created, "cancelled": cancelled}


# ---------------------------------------------------------------- missed appointments

MISSED_APPOINTMENT_DAYS = 7  # a week after the missed time the call is of no more use


def missed_appointment_call_create(
    *, appointment: Appointment, now: datetime | None = None
) -> bool:
    """The call after a no-show (未到店回访), once per appointment (its source key), for a
    customer the contact rules let us call: due at the next contact moment, expiring a week
    after the missed time."""
    now = now or timezone.now()
    if appointment.status != Appointment.Status.NO_SHOW:
        return False
    _task, created = task_create(
        kind=Kind.MISSED_APPOINTMENT,
        source=sources.of_missed_appointment(appointment.pk),
        customer=appointment.customer,
        vehicle=appointment.vehicle,
        appointment=appointment,
        due_at=calendar.next_contact_moment(now),
        expires_at=appointment.scheduled_at + timedelta(days=MISSED_APPOINTMENT_DAYS),
        reason=_("预约 %(time)s（%(type)s）未到店")
        % {
            "time": timezone.localtime(appointment.scheduled_at).strftime("%Y-%m-%d %H:%M"),
            "type": appointment.get_service_type_display(),
        },
    )
    return created


def missed_appointment_calls_create(
    *, appointment_ids: Iterable[int] | None = None, now: datetime | None = None
) -> int:
    """The missed-appointment calls of ``appointment_ids`` (the "appointments missed" event,
    the fast path), or — with None, the sweep, the guarantee — of every no-show of the last
    week that has none. Returns how many calls it created."""
    now = now or timezone.now()
    missed = Appointment.objects.filter(
        status=Appointment.Status.NO_SHOW,
        scheduled_at__gte=now - timedelta(days=MISSED_APPOINTMENT_DAYS),
    ).filter(contactable(Purpose.CALL, prefix="customer__"))
    if appointment_ids is not None:
        missed = missed.filter(pk__in=list(appointment_ids))
    else:
        keys = FollowUpTask.objects.filter(
            kind=Kind.MISSED_APPOINTMENT, source_key=OuterRef("source_key")
        )
        missed = missed.annotate(
            source_key=Concat(Value(f"{sources.APPOINTMENT}:"), Cast("pk", CharField()))
        ).exclude(Exists(keys))
    return sum(
        missed_appointment_call_create(appointment=appointment, now=now)
        for appointment in missed.select_related("customer", "vehicle").order_by("scheduled_at")
    )
