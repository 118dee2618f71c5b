"""Moving an advisor's customers to others (issue 19): when an advisor leaves, a manager
moves their customers (``Customer.advisor``) to one advisor, or spreads them over several,
in one transaction, each change in the customer's history with who did it and why.

Only live customers move (not merged away, not erased); the optional filters narrow the
move to a value tier or to the customers with a delivered visit since a day. Spreading:
"balanced" gives each next customer to the chosen advisor with the fewest customers so far
(their present customers counted), "round robin" deals them out in turn; both go through
the customers best tier first (VIP, core, regular, low, none), so the VIPs are spread too."""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shopcalendar.rules import start_of
from shopcrm import bulk, roles
from shopcrm.errors import DomainError
from shopcrm.people import person_name

from .models import Customer, ValueTier

REASSIGN = "customers.reassign_customers"
REASON_MAX = 80
TIER_ORDER = {tier: rank for rank, tier in enumerate(ValueTier.values)}


class Spread(models.TextChoices):
    BALANCED = "balanced", gettext_lazy("平均分配（客户少的顾问优先）")
    ROUND_ROBIN = "round_robin", gettext_lazy("轮流分配")


@dataclass(frozen=True)
class Filters:
    tier: str = ""  # a ValueTier value; "" for every customer
    visited_since: date | None = None  # only customers with a delivered visit since


@dataclass(frozen=True)
class Plan:
    """Who gets how many: (advisor, customer ids) in the order the advisors were chosen."""

    source: object
    shares: list[tuple[object, list[int]]]

    @property
    def total(self) -> int:
        return sum(len(ids) for _advisor, ids in self.shares)

    def summary(self) -> str:
        """ "李娜 5 位、王强 4 位" """
        return _("、").join(
            _("%(name)s %(n)s 位") % {"name": person_name(advisor), "n": len(ids)}
            for advisor, ids in self.shares
            if ids
        )


def live_customers():
    return Customer.objects.filter(merged_into__isnull=True, erased_at__isnull=True)


def _counts(customers) -> dict:
    """advisor id → how many of ``customers`` they hold."""
    return dict(customers.values_list("advisor").annotate(n=Count("pk")).order_by())


def advisor_loads() -> list[dict]:
    """Every advisor (the advisor role, and anyone else who holds customers) with their
    live customers' count and whether their account is active, active ones first."""
    counts = _counts(live_customers().filter(advisor__isnull=False))
    users = (
        get_user_model()
        .objects.filter(models.Q(groups__name=roles.ADVISOR) | models.Q(pk__in=list(counts)))
        .distinct()
    )
    rows = [
        {
            "user": user,
            "name": person_name(user),
            "active": user.is_active,
            "customers": counts.get(user.pk, 0),
        }
        for user in users
    ]
    rows.sort(key=lambda row: (not row["active"], -row["customers"], row["name"]))
    return rows


def customers_of(source, filters: Filters = Filters()):
    """The live customers of advisor ``source`` that the filters keep."""
    customers = live_customers().filter(advisor=source)
    if filters.tier:
        customers = customers.filter(value_tier=filters.tier)
    if filters.visited_since:
        since = start_of(filters.visited_since)
        customers = customers.filter(visits__delivered_at__gte=since).distinct()
    return customers


def spread(customers: list[tuple[int, str]], targets: list, loads: dict, how: str) -> list:
    """``customers`` ((id, tier) pairs) dealt over ``targets``: [(target, ids)], best tier
    first, by ``how`` (Spread); ``loads``: each target's present customer count."""
    ordered = sorted(customers, key=lambda c: (TIER_ORDER.get(c[1], len(TIER_ORDER)), c[0]))
    shares = {target.pk: [] for target in targets}
    held = {target.pk: loads.get(target.pk, 0) for target in targets}
    order = [target.pk for target in targets]
    for n, (customer_id, _tier) in enumerate(ordered):
        if how == Spread.ROUND_ROBIN:
            pk = order[n % len(order)]
        else:
            pk = min(order, key=lambda p: (held[p], order.index(p)))
        shares[pk].append(customer_id)
        held[pk] += 1
    return [(target, shares[target.pk]) for target in targets]


def _check(*, source, targets: list, by, how: str, reason: str) -> None:
    """Refuse, before anything is read for writing: who may, and a sensible move."""
    if not (by is not None and by.is_active and by.has_perm(REASSIGN)):
        raise DomainError(_("只有售后经理可以批量改派客户。"), code="not_a_manager")
    if source is None:
        raise ValidationError({"source": [_("请选择要移交客户的顾问。")]})
    if not targets:
        raise ValidationError({"targets": [_("请选择至少一位接手的顾问。")]})
    if any(target.pk == source.pk for target in targets):
        raise ValidationError({"targets": [_("接手的顾问不能是移交客户的顾问本人。")]})
    inactive = [person_name(target) for target in targets if not target.is_active]
    if inactive:
        raise ValidationError(
            {
                "targets": [
                    _("%(names)s 的账号已停用，不能接手客户。") % {"names": _("、").join(inactive)}
                ]
            }
        )
    advisors = set(
        get_user_model()
        .objects.filter(groups__name=roles.ADVISOR, pk__in=[t.pk for t in targets])
        .values_list("pk", flat=True)
    )
    others = [person_name(target) for target in targets if target.pk not in advisors]
    if others:
        raise ValidationError(
            {"targets": [_("%(names)s 不是服务顾问。") % {"names": _("、").join(others)}]}
        )
    if how not in Spread.values:
        raise ValidationError({"spread": [_("请选择分配方式。")]})
    if not reason.strip():
        raise ValidationError({"reason": [_("请填写改派原因。")]})
    if len(reason.strip()) > REASON_MAX:
        raise ValidationError({"reason": [_("改派原因最多 %(n)s 个字。") % {"n": REASON_MAX}]})


def _plan(source, targets, filters: Filters, how: str, *, lock: bool) -> Plan:
    customers = customers_of(source, filters)
    if lock:
        # The rows that move, locked: a customer changed meanwhile is read as it is now.
        ids = list(customers.values_list("pk", flat=True))
        customers = Customer.objects.select_for_update().filter(pk__in=ids, advisor=source)
    rows = list(customers.order_by("pk").values_list("pk", "value_tier"))
    if not rows:
        raise ValidationError({"source": [_("这位顾问名下没有符合条件的客户，无需改派。")]})
    loads = _counts(live_customers().filter(advisor__in=targets))
    return Plan(source=source, shares=spread(rows, targets, loads, how))


def customers_reassign_preview(
    *,
    source,
    targets: list,
    by,
    how: str = Spread.BALANCED,
    filters: Filters = Filters(),
    reason: str = "",
) -> Plan:
    """What ``customers_reassign`` would do (nothing written): the confirmation page."""
    _check(source=source, targets=targets, by=by, how=how, reason=reason)
    return _plan(source, targets, filters, how, lock=False)


@transaction.atomic
def customers_reassign(
    *,
    source,
    targets: list,
    by,
    how: str = Spread.BALANCED,
    filters: Filters = Filters(),
    reason: str,
) -> Plan:
    """Move ``source``'s customers (those ``filters`` keep) to ``targets``, spread by
    ``how``; each moved customer's history says who did it and ``reason`` with the two
    advisors. Raises ValidationError or DomainError, and then nothing is written."""
    _check(source=source, targets=targets, by=by, how=how, reason=reason)
    plan = _plan(source, targets, filters, how, lock=True)
    now = timezone.now()
    for target, ids in plan.shares:
        if not ids:
            continue
        Customer.objects.filter(pk__in=ids).update(advisor=target, updated_at=now)
        note = _("%(reason)s：%(source)s → %(target)s") % {
            "reason": reason.strip(),
            "source": person_name(source),
            "target": person_name(target),
        }
        bulk.write_history(Customer, ids, "~", now, by.pk, note)
    return plan
