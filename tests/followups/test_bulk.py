"""The manager's bulk reassign and cancel on 团队回访 (issue 16): only waiting calls change,
the rest are reported; bad input changes nothing and says why."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from followups import access, services
from followups.models import FollowUpTask
from shopcrm.errors import DomainError
from tests.factories import UserFactory, contact_all_day
from tests.followups.test_views import make_task

pytestmark = pytest.mark.django_db
S, OUT = FollowUpTask.Status, FollowUpTask.Outcome
TEAM = reverse("followups:team")
BULK = reverse("followups:team_bulk")


@pytest.fixture(autouse=True)
def always_calling_hours():
    contact_all_day()


@pytest.fixture
def board(agent):
    """Three waiting calls, one done, one an agent is on."""
    waiting = [make_task() for _ in range(3)]
    done, on_call = make_task(), make_task()
    other = UserFactory(role="agent", username="agent-on-call")
    FollowUpTask.objects.filter(pk=done.pk).update(status=S.DONE, outcome=OUT.REACHED_SATISFIED)
    FollowUpTask.objects.filter(pk=on_call.pk).update(
        status=S.CLAIMED, assigned_to=other, lease_expires_at=timezone.now() + timedelta(minutes=15)
    )
    return waiting, done, on_call


def snapshot():
    return list(
        FollowUpTask.objects.order_by("pk").values_list(
            "pk", "status", "assigned_to_id", "outcome_note"
        )
    )


def said(response) -> str:
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


# ---------------------------------------------------------------- services


def test_bulk_reassign_changes_the_waiting_calls_and_reports_the_rest(board, manager, agent):
    waiting, done, on_call = board
    result = services.task_bulk_reassign(
        tasks=[*waiting, done, on_call], to_agent=agent, by=manager
    )
    assert result.changed == 3 and result.skipped == {S.DONE: 1, S.CLAIMED: 1}
    for task in waiting:
        task.refresh_from_db()
        assert (task.status, task.assigned_to) == (S.CLAIMED, agent)
        assert task.history.first().history_user == manager
    on_call.refresh_from_db()
    assert on_call.assigned_to.username == "agent-on-call"  # never taken from the agent on it


def test_bulk_cancel_needs_a_reason_and_skips_finished_calls(board, manager):
    waiting, done, _on_call = board
    before = snapshot()
    with pytest.raises(Exception, match="请填写取消原因"):
        services.task_bulk_cancel(tasks=waiting, by=manager, reason="  ")
    assert snapshot() == before
    result = services.task_bulk_cancel(tasks=[*waiting, done], by=manager, reason="车已卖")
    assert result.changed == 3 and result.skipped == {S.DONE: 1}
    assert set(FollowUpTask.objects.filter(status=S.CANCELLED).values_list("outcome_note")) == {
        ("车已卖",)
    }


@pytest.mark.parametrize("role", ["agent", "advisor"])
def test_bulk_services_refuse_a_non_supervisor(board, role):
    waiting, _done, _on_call = board
    user = UserFactory(role=role, username=f"not-a-supervisor-{role}")
    before = snapshot()
    with pytest.raises(DomainError, match="只有主管"):
        services.task_bulk_cancel(tasks=waiting, by=user, reason="x")
    with pytest.raises(DomainError, match="只有主管"):
        services.task_bulk_reassign(tasks=waiting, to_agent=user, by=user)
    assert snapshot() == before


def test_bulk_reassign_refuses_someone_who_may_not_take_calls(board, manager, advisor):
    waiting, _done, _on_call = board
    inactive = UserFactory(role="agent", username="agent-left")
    inactive.is_active = False
    inactive.save()
    before = snapshot()
    for person in (advisor, inactive, None):
        with pytest.raises(DomainError, match="可以接听回访的专员"):
            services.task_bulk_reassign(tasks=waiting, to_agent=person, by=manager)
    assert snapshot() == before


def test_access_helper_counts_ids_it_cannot_give(board, manager, monkeypatch):
    waiting, _done, _on_call = board
    found, missing = access.tasks_to_supervise(
        manager, [str(waiting[0].pk), "999999", "junk", str(waiting[0].pk)]
    )
    assert found == [waiting[0]] and missing == 2


# ---------------------------------------------------------------- the page


def test_bulk_reassign_keeps_the_filters_and_says_what_was_done(board, manager, agent, client):
    waiting, done, on_call = board
    client.force_login(manager)
    query = "kind=post_service&status=&due=now"
    response = client.post(
        f"{BULK}?{query}",
        {
            "task": [t.pk for t in (*waiting, done, on_call)],
            "action": "reassign",
            "agent": agent.pk,
        },
    )
    assert response.status_code == 302 and response["Location"] == f"{TEAM}?{query}"
    message = said(response)
    assert "已改派 3 个回访" in message and "1 个已完成" in message and "1 个拨打中" in message
    assert "未改动" in message
    assert FollowUpTask.objects.filter(assigned_to=agent, status=S.CLAIMED).count() == 3


def test_bulk_cancel_from_the_page(board, manager, client):
    waiting, _done, _on_call = board
    client.force_login(manager)
    response = client.post(
        BULK, {"task": [t.pk for t in waiting], "action": "cancel", "reason": "客户已来电"}
    )
    assert said(response) == "已取消 3 个回访。"
    assert FollowUpTask.objects.filter(status=S.CANCELLED).count() == 3


def test_the_team_page_offers_the_bulk_actions(board, manager, client):
    client.force_login(manager)
    body = client.get(TEAM, {"kind": "post_service"}).content.decode()
    assert 'id="bulk-form"' in body and 'form="bulk-form"' in body
    assert 'action="/calls/team/bulk/?kind=post_service"' in body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"action": "reassign"}, "请先勾选回访任务"),
        ({"action": "cancel", "reason": "x"}, "请先勾选回访任务"),
        ({"task": ["999999"], "action": "cancel", "reason": "x"}, "不存在或您无权查看"),
        ({"task": ["abc"], "action": "cancel", "reason": "x"}, "不存在或您无权查看"),
        ({"task": "WAITING+UNKNOWN", "action": "cancel", "reason": "x"}, "不存在或您无权查看"),
        ({"task": "WAITING", "action": "cancel", "reason": ""}, "请填写取消原因"),
        ({"task": "WAITING", "action": "reassign", "agent": ""}, "请选择可以接听回访的专员"),
        ({"task": "WAITING", "action": "reassign", "agent": "ADVISOR"}, "请选择可以接听回访的专员"),
        ({"task": "WAITING", "action": "reassign", "agent": "999999"}, "请选择可以接听回访的专员"),
        ({"task": "WAITING", "action": "explode"}, "请选择要做的操作"),
        ({"task": "WAITING"}, "请选择要做的操作"),
    ],
)
def test_bad_bulk_input_says_so_and_changes_nothing(board, manager, advisor, client, data, message):
    waiting, _done, _on_call = board
    ids = [str(t.pk) for t in waiting]
    data = dict(data)
    if data.get("task") == "WAITING":
        data["task"] = ids
    elif data.get("task") == "WAITING+UNKNOWN":
        data["task"] = [*ids, "999999"]
    if data.get("agent") == "ADVISOR":
        data["agent"] = str(advisor.pk)
    client.force_login(manager)
    before = snapshot()
    response = client.post(f"{BULK}?status=open", data)
    assert response.status_code == 302 and response["Location"] == f"{TEAM}?status=open"
    assert message in said(response)
    assert snapshot() == before


def test_ids_the_manager_may_not_see_refuse_the_whole_action(board, manager, client, monkeypatch):
    """Supervisors see every call today; should the access rule hide one, the action is
    refused whole, not done for the rest."""
    waiting, _done, _on_call = board
    hidden = waiting[0].pk
    rule = access.can_see_call
    monkeypatch.setattr(
        access, "can_see_call", lambda user, task: task.pk != hidden and rule(user, task)
    )
    client.force_login(manager)
    before = snapshot()
    response = client.post(
        BULK, {"task": [t.pk for t in waiting], "action": "cancel", "reason": "x"}
    )
    assert "1 个所选回访不存在或您无权查看" in said(response)
    assert snapshot() == before


def test_agents_may_not_use_the_bulk_actions(board, agent, client):
    waiting, _done, _on_call = board
    client.force_login(agent)
    before = snapshot()
    response = client.post(
        BULK, {"task": [t.pk for t in waiting], "action": "cancel", "reason": "x"}
    )
    assert response.status_code == 403 and snapshot() == before
