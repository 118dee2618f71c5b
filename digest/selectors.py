"""What a digest shows: one day of the shop (a manager) or of one advisor's visits and
customers. Read from the records each time; the promise rules are visits.rules' (the same
conditions as the on-time figures of METRICS.md)."""

from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q

from complaints.models import Complaint
from followups.models import CallAttempt
from followups.rules import FAILED, NOT_REACHED
from shopcalendar.rules import day_span
from shopcrm.roles import ADVISOR, MANAGER
from surveys.models import SurveyResponse
from visits.models import Visit
from visits.rules import ON_TIME_FIRST, PROMISED

from .models import Digest

# How many comments each of "best" and "worst" shows.
COMMENTS_SHOWN = 3
# A call that did not reach the customer (wrong numbers too: nobody was reached).
NOT_REACHED_OUTCOMES = (*NOT_REACHED, *FAILED)


@dataclass
class DigestContent:
    day: date
    delivered: list = field(default_factory=list)
    kept: list = field(default_factory=list)
    missed: list = field(default_factory=list)
    alerts: list = field(default_factory=list)
    complaints_opened: list = field(default_factory=list)
    complaints_overdue: list = field(default_factory=list)
    calls_not_reached: list = field(default_factory=list)
    best_comments: list = field(default_factory=list)
    worst_comments: list = field(default_factory=list)


def scope_for(user) -> str | None:
    """A manager reads the whole shop, an advisor their own; others get no digest."""
    groups = set(user.groups.values_list("name", flat=True))
    if MANAGER in groups:
        return Digest.Scope.SHOP
    if ADVISOR in groups:
        return Digest.Scope.ADVISOR
    return None


def recipients(policy) -> list:
    """The active staff the policy sends the digest to, each with their scope."""
    roles = [MANAGER] * policy.to_managers + [ADVISOR] * policy.to_advisors
    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=roles)
        .distinct()
        .order_by("pk")
    )
    chosen = []
    for user in users:
        scope = scope_for(user)
        # A manager who is also an advisor is sent the shop's digest only when managers are.
        if scope == Digest.Scope.SHOP and not policy.to_managers:
            scope = Digest.Scope.ADVISOR
        chosen.append((user, scope))
    return chosen


def _own(user, visit: str, customer: str) -> Q:
    """Rows of ``user``'s visits, or — without a visit — of a customer they have served."""
    served = Visit.objects.filter(customer_id=OuterRef(customer), advisor=user)
    return Q(**{f"{visit}__advisor": user}) | Q(**{f"{visit}__isnull": True}) & Q(Exists(served))


def _comment(response) -> str:
    return " ".join(a.text.strip() for a in response.answers.all() if a.text.strip())


def content(day: date, *, advisor=None) -> DigestContent:
    """The digest of ``day``; ``advisor``: only their visits and customers."""
    since, until = day_span(day, day)
    result = DigestContent(day=day)
    visits = Visit.objects.filter(
        status=Visit.Status.DELIVERED, delivered_at__gte=since, delivered_at__lt=until
    ).select_related("vehicle", "customer", "advisor")
    if advisor is not None:
        visits = visits.filter(advisor=advisor)
    result.delivered = list(visits.order_by("delivered_at"))
    result.kept = list(visits.filter(ON_TIME_FIRST).order_by("delivered_at"))
    result.missed = list(visits.filter(PROMISED & ~ON_TIME_FIRST).order_by("delivered_at"))
    _surveys(result, since, until, advisor)
    _complaints(result, since, until, advisor)
    calls = CallAttempt.objects.filter(
        started_at__gte=since, started_at__lt=until, outcome__in=NOT_REACHED_OUTCOMES
    ).select_related("task__customer", "task__visit", "agent")
    if advisor is not None:
        calls = calls.filter(_own(advisor, "task__visit", "task__customer"))
    result.calls_not_reached = list(calls.order_by("started_at"))
    return result


def _surveys(result: DigestContent, since, until, advisor) -> None:
    responses = (
        SurveyResponse.objects.filter(submitted_at__gte=since, submitted_at__lt=until)
        .select_related("customer", "visit__vehicle", "visit__advisor")
        .prefetch_related("answers")
    )
    if advisor is not None:
        responses = responses.filter(visit__advisor=advisor)
    responses = list(responses.order_by("submitted_at", "pk"))
    for response in responses:
        response.comment = _comment(response)
    result.alerts = [r for r in responses if r.is_alert]
    # The best and the worst comments by the customer's score (CSI): the higher half's
    # best, the lower half's worst, so that one comment is never both.
    scored = sorted((r for r in responses if r.comment and r.csi is not None), key=_by_score)
    half = (len(scored) + 1) // 2
    result.best_comments = scored[:half][:COMMENTS_SHOWN]
    result.worst_comments = scored[half:][::-1][:COMMENTS_SHOWN]


def _by_score(response):
    return (-response.csi, response.submitted_at, response.pk)


def _complaints(result: DigestContent, since, until, advisor) -> None:
    complaints = Complaint.objects.select_related("customer", "owner")
    if advisor is not None:
        complaints = complaints.filter(_own(advisor, "visit", "customer"))
    result.complaints_opened = list(
        complaints.filter(received_at__gte=since, received_at__lt=until).order_by("received_at")
    )
    # Overdue at the day's end: its resolution deadline passed and it was not resolved by then.
    late = Q(resolution_due_at__lt=until) & (
        Q(resolved_at__isnull=True, status__in=Complaint.OPEN) | Q(resolved_at__gte=until)
    )
    result.complaints_overdue = list(complaints.filter(late).order_by("resolution_due_at"))
