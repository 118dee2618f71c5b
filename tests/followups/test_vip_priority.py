"""VIP customers first in the call queue (issue 19, FollowUpPolicy.vip_first): a VIP's call
is handed out before the same kind of call for anyone else, never before a more urgent
kind; the policy off makes no difference; a change of tiers moves the waiting calls."""

from datetime import timedelta
from itertools import pairwise

import pytest

from customers.models import ValueTier
from customers.services import customer_value_tiers_set
from followups import rules, services
from followups.models import FollowUpPolicy, FollowUpTask
from followups.selectors import clear_policy_cache
from tests.factories import CustomerFactory, UserFactory
from tests.followups.test_services import CALLING, MONDAY, due_task

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
K = FollowUpTask.Kind
DUE = CALLING - timedelta(minutes=30)


@pytest.fixture
def agent_user():
    return UserFactory(role="agent", username="agent-vip")


def vip_first(on: bool) -> None:
    policy = FollowUpPolicy.current()
    policy.vip_first = on
    policy.save()
    clear_policy_cache()


def claim(agent):
    return services.task_claim_next(agent=agent, now=CALLING)


def test_the_rule_keeps_every_vip_call_behind_the_next_more_urgent_kind():
    order = rules.kinds_in_queue_order()
    for more_urgent, kind in pairwise(order):
        assert rules.priority_of(more_urgent) < rules.priority_of(kind, vip=True)
        assert rules.priority_of(kind, vip=True) < rules.priority_of(kind)


def test_a_vips_call_is_claimed_before_a_non_vips_of_the_same_kind_and_due_time(agent_user):
    assert FollowUpPolicy.current().vip_first  # on by default
    plain = due_task(due_at=DUE)  # made first: the queue's last tie-breaker would pick it
    vip = due_task(due_at=DUE, customer=CustomerFactory(value_tier=ValueTier.VIP))
    assert vip.priority == plain.priority - 1
    assert claim(agent_user) == vip
    assert claim(UserFactory(role="agent", username="agent-2")) == plain


def test_a_vip_is_first_even_when_their_call_fell_due_later(agent_user):
    plain = due_task(due_at=DUE - timedelta(hours=3))
    vip = due_task(due_at=DUE, customer=CustomerFactory(value_tier=ValueTier.VIP))
    assert claim(agent_user) == vip
    assert claim(UserFactory(role="agent", username="agent-2")) == plain


def test_a_bad_surveys_recovery_call_still_comes_before_a_vips_three_day_call(agent_user):
    vip = due_task(due_at=DUE - timedelta(hours=3), customer=CustomerFactory(value_tier="vip"))
    recovery = due_task(due_at=DUE, kind=K.SERVICE_RECOVERY)
    assert claim(agent_user) == recovery
    assert claim(UserFactory(role="agent", username="agent-2")) == vip


def test_with_the_policy_off_a_vip_waits_their_turn(agent_user):
    vip_first(False)
    plain = due_task(due_at=DUE)
    vip = due_task(due_at=DUE, customer=CustomerFactory(value_tier=ValueTier.VIP))
    assert vip.priority == plain.priority == rules.priority_of(K.POST_SERVICE)
    assert claim(agent_user) == plain


def test_new_tiers_move_the_waiting_calls_and_only_those(agent_user):
    stays = CustomerFactory()
    becomes_vip = CustomerFactory()
    was_vip = CustomerFactory(value_tier=ValueTier.VIP, value_tier_on=MONDAY)
    first = due_task(due_at=DUE, customer=stays)
    second = due_task(due_at=DUE, customer=becomes_vip)
    demoted = due_task(due_at=DUE, customer=was_vip, kind=K.WIN_BACK)
    done = due_task(due_at=DUE, customer=becomes_vip, kind=K.SERVICE_RECOVERY)
    FollowUpTask.objects.filter(pk=done.pk).update(status=FollowUpTask.Status.DONE)
    by_hand = due_task(due_at=DUE, customer=becomes_vip, kind=K.MAINTENANCE_REMINDER)
    FollowUpTask.objects.filter(pk=by_hand.pk).update(priority=1)  # an administrator's
    assert demoted.priority == rules.priority_of(K.WIN_BACK, vip=True)

    customer_value_tiers_set(
        tiers={becomes_vip.pk: ValueTier.VIP, stays.pk: ValueTier.CORE},
        on=MONDAY + timedelta(days=1),
    )
    assert services.task_priorities_apply() == 2
    priority = dict(FollowUpTask.objects.values_list("pk", "priority"))
    assert priority[second.pk] == rules.priority_of(K.POST_SERVICE, vip=True)
    assert priority[first.pk] == rules.priority_of(K.POST_SERVICE)
    assert priority[demoted.pk] == rules.priority_of(K.WIN_BACK)  # no tier any more
    assert priority[done.pk] == rules.priority_of(K.SERVICE_RECOVERY)  # not waiting
    assert priority[by_hand.pk] == 1
    assert claim(agent_user) == FollowUpTask.objects.get(pk=by_hand.pk)
    assert claim(UserFactory(role="agent", username="agent-2")) == second
    assert services.task_priorities_apply() == 0  # a second run moves nothing

    vip_first(False)  # switched off: every waiting VIP call back to its kind's priority
    FollowUpTask.objects.filter(pk=second.pk).update(status=FollowUpTask.Status.PENDING)
    assert services.task_priorities_apply() == 1
    assert FollowUpTask.objects.get(pk=second.pk).priority == rules.priority_of(K.POST_SERVICE)
