"""The agent's queue and the team view through the test client."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import PhoneReveal
from followups import services
from followups.models import CallAttempt, FollowUpTask
from tests.factories import UserFactory, VisitFactory, contact_all_day
from visits.models import Visit

pytestmark = pytest.mark.django_db
S, OUT = FollowUpTask.Status, FollowUpTask.Outcome


@pytest.fixture(autouse=True)
def always_calling_hours():
    contact_all_day()


def make_task(**extra):
    delivered = timezone.now() - timedelta(hours=30)
    visit = VisitFactory(
        status=Visit.Status.DELIVERED,
        checked_in_at=delivered - timedelta(hours=2),
        delivered_at=delivered,
        concern="刹车异响",
    )
    return services.post_service_task_create(visit_id=visit.pk)


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def test_next_call_opens_the_call_with_reason_script_and_masked_phone(agent_client):
    task = make_task()
    response = agent_client.post(reverse("followups:next"))
    assert response.status_code == 302 and response["Location"] == reverse(
        "followups:call", args=[task.pk]
    )
    body = agent_client.get(response["Location"]).content.decode()
    assert task.customer.masked_phone in body and task.customer.phone[3:] not in body
    assert "车辆问题是否一次修好" in body and "刹车异响" in body and task.visit.ro_number in body
    assert "显示号码" in body


def test_agent_reveals_the_phone_only_for_the_call_held(agent_client, agent):
    task = make_task()
    other = make_task()
    agent_client.post(reverse("followups:next"))
    held = FollowUpTask.objects.get(status=S.CLAIMED)
    not_held = other if held == task else task
    assert (
        agent_client.post(reverse("customers:reveal_phone", args=[held.customer_id])).status_code
        == 200
    )
    assert (
        agent_client.post(
            reverse("customers:reveal_phone", args=[not_held.customer_id])
        ).status_code
        == 403
    )
    assert PhoneReveal.objects.filter(user=agent).count() == 1


def test_record_no_answer_then_next_then_reached(agent_client):
    first, second = make_task(), make_task()
    agent_client.post(reverse("followups:next"))
    held = FollowUpTask.objects.get(status=S.CLAIMED)
    response = agent_client.post(
        reverse("followups:outcome", args=[held.pk]), {"outcome": OUT.NO_ANSWER}
    )
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.status == S.PENDING and held.attempts == 1
    response = agent_client.post(reverse("followups:next"))
    nxt = FollowUpTask.objects.get(status=S.CLAIMED)
    assert nxt != held
    agent_client.post(
        reverse("followups:outcome", args=[nxt.pk]), {"outcome": OUT.REACHED_SATISFIED}
    )
    nxt.refresh_from_db()
    assert nxt.status == S.DONE
    assert CallAttempt.objects.count() == 2
    assert {first.pk, second.pk} == {held.pk, nxt.pk}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "请选择通话结果"),
        ({"outcome": "teleported"}, "选择一个有效的选项"),
        ({"outcome": OUT.REACHED_ISSUE}, "请记下客户反映的问题"),
        ({"outcome": OUT.CALLBACK}, "请填写一个将来的回拨时间"),
        ({"outcome": OUT.CALLBACK, "callback_at": "soon"}, "输入一个有效的日期/时间"),
    ],
)
def test_bad_outcomes_show_the_error_and_change_nothing(agent_client, data, message):
    make_task()
    agent_client.post(reverse("followups:next"))
    held = FollowUpTask.objects.get(status=S.CLAIMED)
    response = agent_client.post(reverse("followups:outcome", args=[held.pk]), data)
    assert response.status_code == 400 and message in response.content.decode()
    held.refresh_from_db()
    assert held.status == S.CLAIMED and held.attempts == 0 and CallAttempt.objects.count() == 0


def test_empty_queue_says_so(agent_client):
    response = agent_client.post(reverse("followups:next"), follow=True)
    assert "现在没有要拨打的回访" in response.content.decode()


def test_another_agents_call_is_not_yours(agent_client):
    make_task()
    other = UserFactory(role="agent", username="agent-other")
    task = services.task_claim_next(agent=other)
    assert agent_client.get(reverse("followups:call", args=[task.pk])).status_code == 403
    response = agent_client.post(
        reverse("followups:outcome", args=[task.pk]),
        {"outcome": OUT.REACHED_SATISFIED},
        follow=True,
    )
    assert "不在您手上" in response.content.decode()
    task.refresh_from_db()
    assert task.status == S.CLAIMED


def test_team_queue_filters_and_supervisor_actions(client, manager, agent):
    task, other = make_task(), make_task()
    client.force_login(manager)
    body = client.get(
        reverse("followups:team"), {"kind": "post_service", "due": "now"}
    ).content.decode()
    assert task.customer.name in body and other.customer.name in body
    assert (
        client.post(reverse("followups:reassign", args=[task.pk]), {"agent": agent.pk}).status_code
        == 302
    )
    task.refresh_from_db()
    assert task.assigned_to == agent and task.status == S.CLAIMED
    client.post(reverse("followups:cancel", args=[other.pk]), {"reason": ""})
    other.refresh_from_db()
    assert other.status == S.PENDING  # a reason is required
    client.post(reverse("followups:cancel", args=[other.pk]), {"reason": "客户已来电"})
    other.refresh_from_db()
    assert other.status == S.CANCELLED
    body = client.get(reverse("followups:team"), {"agent": agent.pk}).content.decode()
    assert task.customer.name in body and other.customer.name not in body
    # The manager picks the agent by name (surname first), not by typing a username.
    agent.first_name, agent.last_name = "娜", "李"
    agent.save()
    form = client.get(reverse("followups:team")).context["form"]
    assert (agent.pk, "李娜") in [(c[0].value, c[1]) for c in form.fields["agent"].choices if c[0]]


def test_agents_may_not_supervise(agent_client, agent):
    task = make_task()
    assert (
        agent_client.post(reverse("followups:cancel", args=[task.pk]), {"reason": "x"}).status_code
        == 403
    )
    assert (
        agent_client.post(
            reverse("followups:reassign", args=[task.pk]), {"agent": agent.pk}
        ).status_code
        == 403
    )


def test_agents_have_no_team_queue_they_could_not_open(client, agent):
    """Issue 16, bug 6: the menu offered 团队回访 to agents, whose every row was a 403."""
    client.force_login(agent)
    queue = client.get(reverse("followups:queue")).content.decode()
    assert reverse("followups:team") not in queue
    assert client.get(reverse("followups:team")).status_code == 403


def test_the_queue_page_lists_the_kinds_in_the_order_next_call_takes_them(client, agent):
    """Issue 16, bug 10: complaint callbacks first, and the page says so."""
    client.force_login(agent)
    body = client.get(reverse("followups:queue")).content.decode()
    table = body[body.index('id="queue-counts"') :]
    assert "按此顺序分配" in table
    positions = [
        table.index(label) for label in ("投诉回访", "服务补救回访", "三日回访", "保养提醒")
    ]
    assert positions == sorted(positions)
