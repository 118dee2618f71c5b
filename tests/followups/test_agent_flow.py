"""The agent at a headset (issue 16): after an outcome the next call opens by itself unless
the agent paused; a call that did not get through says when it is tried again; survey
scores show with their scale."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.template import Context, Template
from django.urls import reverse
from django.utils import formats, timezone

from followups import rules
from followups.models import FollowUpPolicy, FollowUpTask
from surveys import selectors as survey_selectors
from surveys import services as survey_services
from tests.factories import contact_all_day
from tests.followups.test_views import make_task

pytestmark = pytest.mark.django_db
S, OUT = FollowUpTask.Status, FollowUpTask.Outcome


@pytest.fixture(autouse=True)
def always_calling_hours():
    contact_all_day()


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


def claim(client) -> FollowUpTask:
    client.post(reverse("followups:next"))
    return FollowUpTask.objects.get(status=S.CLAIMED)


def said(response) -> str:
    return " ".join(str(message) for message in get_messages(response.wsgi_request))


def test_saving_an_outcome_opens_the_next_call(agent_client):
    make_task(), make_task()
    first = claim(agent_client)
    response = agent_client.post(
        reverse("followups:outcome", args=[first.pk]), {"outcome": OUT.REACHED_SATISFIED}
    )
    second = FollowUpTask.objects.get(status=S.CLAIMED)
    assert second != first
    assert response["Location"] == reverse("followups:call", args=[second.pk])
    assert "已记录" in said(response)


def test_paused_saving_returns_to_the_queue_and_the_pause_is_kept(agent_client):
    make_task(), make_task()
    first = claim(agent_client)
    body = agent_client.get(reverse("followups:call", args=[first.pk])).content.decode()
    assert 'id="pause-toggle"' in body and "保存后自动接下一个" in body
    agent_client.post(
        reverse("followups:pause"),
        {"paused": "1", "next": reverse("followups:call", args=[first.pk])},
    )
    body = agent_client.get(reverse("followups:call", args=[first.pk])).content.decode()
    assert "已暂停接听" in body and "恢复自动接听" in body
    response = agent_client.post(
        reverse("followups:outcome", args=[first.pk]), {"outcome": OUT.REACHED_SATISFIED}
    )
    assert response["Location"] == reverse("followups:queue")
    assert not FollowUpTask.objects.filter(status=S.CLAIMED).exists()
    assert "已暂停接听" in agent_client.get(reverse("followups:queue")).content.decode()
    # Resumed: the next outcome opens the next call again.
    agent_client.post(reverse("followups:pause"), {"paused": "0"})
    second = claim(agent_client)
    make_task()
    response = agent_client.post(
        reverse("followups:outcome", args=[second.pk]), {"outcome": OUT.REACHED_SATISFIED}
    )
    assert response["Location"].startswith("/calls/") and response["Location"] != reverse(
        "followups:queue"
    )


def test_pause_goes_back_only_to_this_site(agent_client):
    response = agent_client.post(
        reverse("followups:pause"), {"paused": "1", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("followups:queue")


def test_the_last_call_saved_says_the_queue_is_empty(agent_client):
    make_task()
    only = claim(agent_client)
    response = agent_client.post(
        reverse("followups:outcome", args=[only.pk]),
        {"outcome": OUT.REACHED_SATISFIED},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("followups:queue")
    body = response.content.decode()
    assert "队列已空" in body and 'id="queue-empty"' in body


def test_no_answer_says_when_it_is_tried_again(agent_client, manager, client):
    make_task()
    task = claim(agent_client)
    response = agent_client.post(
        reverse("followups:outcome", args=[task.pk]), {"outcome": OUT.NO_ANSWER}
    )
    task.refresh_from_db()
    assert task.status == S.PENDING and task.next_attempt_at > timezone.now()
    # The time the rules set, read back (not worked out again).
    assert rules.retry_at(task) == task.next_attempt_at
    when = formats.date_format(timezone.localtime(task.next_attempt_at), "m-d H:i")
    assert f"将于 {when} 再拨" in said(response)
    # On the agent's list of today's calls, and on the task's page.
    assert f"将于 {when} 再拨" in agent_client.get(reverse("followups:queue")).content.decode()
    client.force_login(manager)
    body = client.get(reverse("followups:call", args=[task.pk])).content.decode()
    assert 'id="retry-at"' in body and when in body


def test_the_last_unanswered_try_says_it_will_not_be_tried_again(agent_client):
    policy = FollowUpPolicy.current()
    policy.max_attempts = 1
    policy.save()
    make_task()
    task = claim(agent_client)
    response = agent_client.post(
        reverse("followups:outcome", args=[task.pk]), {"outcome": OUT.BUSY}
    )
    task.refresh_from_db()
    assert task.status == S.FAILED and rules.retry_at(task) is None
    assert "不再拨打" in said(response) and "再拨。" not in said(response)


def test_retry_at_only_for_a_call_waiting_for_its_retry():
    task = FollowUpTask(status=S.PENDING, outcome=OUT.CALLBACK, next_attempt_at=timezone.now())
    assert rules.retry_at(task) is None  # the customer's own time, shown as the callback
    task.outcome = OUT.NO_ANSWER
    assert rules.retry_at(task) == task.next_attempt_at
    task.status = S.CANCELLED
    assert rules.retry_at(task) is None


def test_the_recovery_call_shows_each_score_with_its_scale(agent_client):
    from tests.surveys.conftest import make_delivered_visit
    from tests.surveys.test_services import GOOD

    visit = make_delivered_visit()
    survey_services.response_create(
        template=survey_selectors.template_default(),
        visit=visit,
        channel="sms",
        answers={**GOOD, "rel_fixed_right": 1, "nps": 5},
        submitted_at=timezone.now() - timedelta(minutes=1),
        require_required=True,
    )
    task = claim(agent_client)
    assert task.kind == FollowUpTask.Kind.SERVICE_RECOVERY
    body = agent_client.get(reverse("followups:call", args=[task.pk])).content.decode()
    assert 'id="alert-nps">5/10<' in body
    assert "/100</span>" in body  # CSI on its 0–100 scale
    assert '车辆问题是否一次修好</span><span class="text-nowrap answer-value">1/5<' in body
    assert "NPS 5/10" in task.reason  # the call's reason, as the alert wrote it


def test_score_filters():
    template = Template("{% load call_tags %}{{ n|nps_score }} {{ c|csi_score }} {{ z|nps_score }}")
    assert template.render(Context({"n": 5, "c": 71.6, "z": None})) == "5/10 72/100 —"


def test_outside_calling_hours_saving_returns_to_the_queue_with_the_reason(agent_client):
    from shopcalendar.models import Holiday

    make_task(), make_task()
    first = claim(agent_client)
    Holiday.objects.create(day=timezone.localdate(), name="店休")  # calling stops meanwhile
    response = agent_client.post(
        reverse("followups:outcome", args=[first.pk]), {"outcome": OUT.REACHED_SATISFIED}
    )
    assert response["Location"] == reverse("followups:queue")
    assert "现在不是拨打时间" in said(response)
    first.refresh_from_db()
    assert first.status == S.DONE and not FollowUpTask.objects.filter(status=S.CLAIMED).exists()
