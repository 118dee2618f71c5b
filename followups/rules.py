"""The call queue's rules, with no database: how urgent each kind of call is, what an
outcome does to a task (done, failed, tried again later, called back at the customer's
time), the retry spacing and the last try. The services feed them the task as read, the
policy, the clock and the shop's contact hours; tests call them directly."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from shopcalendar import rules as calendar_rules

from .models import FollowUpPolicy, FollowUpTask

Kind, Status, Outcome = FollowUpTask.Kind, FollowUpTask.Status, FollowUpTask.Outcome
LostReason = FollowUpTask.LostReason
LOST_NOTE_MAX = FollowUpTask._meta.get_field("lost_note").max_length

# Smaller first; then by due time.
# The order the queue hands calls out (then by due time): a customer waiting to hear about
# their complaint first, then an unhappy survey answer, then the routine calls.
PRIORITY = {
    Kind.COMPLAINT_CALLBACK: 5,
    Kind.SERVICE_RECOVERY: 10,
    Kind.POST_SERVICE: 20,
    Kind.MISSED_APPOINTMENT: 30,
    Kind.MAINTENANCE_REMINDER: 40,
    Kind.RECOMMENDED_WORK: 45,
    Kind.WIN_BACK: 60,
    # A safety recall before the routine calls; a marketing campaign after them all.
    Kind.RECALL: 35,
    Kind.CAMPAIGN: 70,
}
DEFAULT_PRIORITY = 50
# A VIP customer's call (FollowUpPolicy.vip_first): one step ahead of the same kind for
# everyone else, whatever their due times; the kinds are five or more apart, so it never
# passes a more urgent kind (a bad survey's recovery call still comes before a VIP's
# three-day call).
VIP_STEP = 1
# Outcomes that end the task for good; no answer and busy are tried again.
DONE = (*FollowUpTask.REACHED, Outcome.REFUSED)
FAILED = (Outcome.WRONG_NUMBER,)
NOT_REACHED = (Outcome.NO_ANSWER, Outcome.BUSY)


@dataclass(frozen=True)
class ContactHours:
    """The shop calendar's contact hours and the holidays ahead (shopcalendar)."""

    hours: calendar_rules.Hours
    holidays: frozenset[date] = frozenset()

    def next_moment(self, at: datetime) -> datetime:
        return calendar_rules.next_open_moment(at, self.hours, set(self.holidays))


def priority_of(kind: str, *, vip: bool = False) -> int:
    """The queue's priority of a call of ``kind`` (smaller first); ``vip``: for a VIP
    customer while the policy puts them first."""
    return PRIORITY.get(kind, DEFAULT_PRIORITY) - (VIP_STEP if vip else 0)


def kinds_in_queue_order() -> list[str]:
    return sorted(Kind.values, key=priority_of)


def outcome_errors(
    *,
    outcome: str,
    note: str,
    callback_at: datetime | None,
    now: datetime,
    kind: str = "",
    booked: bool = False,
    lost_reason: str = "",
    lost_note: str = "",
) -> dict[str, list]:
    """What is wrong with an outcome as the agent entered it ({} when nothing). "Booked"
    only on the calls that may book, and only with the appointment it booked; "lost" only
    on the calls that bring a car back, and always with a reason (see ``reason_asked``)."""
    if outcome not in Outcome.values:
        return {"outcome": [_("请选择通话结果。")]}
    if outcome == Outcome.BOOKED and kind not in FollowUpTask.BOOKABLE:
        return {"outcome": [_("这类回访不能登记“预约成功”。")]}
    if outcome == Outcome.LOST and kind not in FollowUpTask.LOSABLE:
        return {"outcome": [_("这类回访不能登记“客户流失/不再回厂”。")]}
    reason_errors = lost_reason_errors(
        outcome=outcome, kind=kind, lost_reason=lost_reason, lost_note=lost_note
    )
    if reason_errors:
        return reason_errors
    if outcome == Outcome.BOOKED and not booked:
        return {"scheduled_at": [_("选择“预约成功”时请选择预约时段。")]}
    if outcome == Outcome.REACHED_ISSUE and not note.strip():
        return {"note": [_("请记下客户反映的问题。")]}
    if outcome == Outcome.CALLBACK and (callback_at is None or callback_at <= now):
        return {"callback_at": [_("请填写一个将来的回拨时间。")]}
    return {}


def reason_asked(outcome: str, kind: str) -> bool:
    """Whether the call's outcome carries a reason why the customer leaves: every "lost"
    outcome, and a win-back call that reached the customer without a booking."""
    if outcome == Outcome.LOST:
        return True
    return kind == Kind.WIN_BACK and outcome in (Outcome.REACHED_SATISFIED, Outcome.REACHED_ISSUE)


def lost_reason_errors(*, outcome: str, kind: str, lost_reason: str, lost_note: str) -> dict:
    """A reason is required on "lost", optional on a win-back reached without a booking
    (the customer may simply not have decided); a code must be one of the list, and
    "other" needs its note."""
    if lost_reason and lost_reason not in LostReason.values:
        return {"lost_reason": [_("请从列表中选择流失原因。")]}
    if len(lost_note.strip()) > LOST_NOTE_MAX:
        return {"lost_note": [_("流失原因说明最多 %(n)s 个字。") % {"n": LOST_NOTE_MAX}]}
    if not reason_asked(outcome, kind):
        return {}
    if outcome == Outcome.LOST and not lost_reason:
        return {"lost_reason": [_("选择“客户流失/不再回厂”时请选择流失原因。")]}
    if lost_reason == LostReason.OTHER and not lost_note.strip():
        return {"lost_note": [_("流失原因为“其他”时请写明原因。")]}
    return {}


def next_retry(at: datetime, attempts: int, policy: FollowUpPolicy, contact: ContactHours):
    """After the first unanswered dial, retry after the policy's hours; after later ones,
    at the start of the next calling day."""
    if attempts <= 1:
        return contact.next_moment(at + timedelta(hours=policy.first_retry_hours))
    tomorrow = calendar_rules.local_day(at) + timedelta(days=1)
    return contact.next_moment(calendar_rules.start_of(tomorrow))


def apply_outcome(
    task: FollowUpTask,
    *,
    outcome: str,
    note: str,
    callback_at: datetime | None,
    now: datetime,
    policy: FollowUpPolicy,
    contact: ContactHours,
    lost_reason: str = "",
    lost_note: str = "",
) -> None:
    """Change ``task`` (in memory) as the outcome of one more dial says: every dial counts;
    reached or refused is done, a wrong number failed; a call-back request waits for the
    customer's time (stretching the expiry to reach it); no answer or busy is tried again
    after the retry spacing, and fails at the policy's last attempt."""
    task.attempts += 1
    task.outcome = outcome
    task.outcome_note = note
    # The reason is kept only where it is asked (a reason left over from an outcome the
    # agent first picked, then changed, is not stored), its note only with a reason.
    asked = reason_asked(outcome, task.kind)
    task.lost_reason = lost_reason if asked else ""
    task.lost_note = lost_note.strip() if asked and lost_reason else ""
    task.lease_expires_at = None
    task.updated_at = now
    if outcome in DONE:
        task.status, task.completed_at = Status.DONE, now
    elif outcome in FAILED:
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
        task.next_attempt_at = next_retry(now, task.attempts, policy, contact)
    if task.status == Status.PENDING:
        task.assigned_to = None


def retry_at(task: FollowUpTask) -> datetime | None:
    """When a call that did not get through is tried again: the time ``apply_outcome`` set
    (read back, never worked out again); None when it is not waiting for a retry."""
    if task.status == Status.PENDING and task.outcome in NOT_REACHED:
        return task.next_attempt_at
    return None


def dial_started(lease_expires_at: datetime, policy: FollowUpPolicy) -> datetime:
    """When the dial began: when the call was claimed (its lease's start)."""
    return lease_expires_at - timedelta(minutes=policy.lease_minutes)
