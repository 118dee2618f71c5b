"""The public survey page, the agent's phone answers and the manager's pages through the
test client."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from followups import services as followup_services
from followups.models import CallAttempt, FollowUpTask
from surveys import selectors, services
from surveys.models import SurveyInvitation, SurveyResponse
from tests.factories import UserFactory
from tests.surveys.conftest import make_delivered_visit, received_link
from tests.surveys.test_services import GOOD

pytestmark = pytest.mark.django_db


def open_link():
    visit = make_delivered_visit(hours_ago=30, name="刘洋")
    services.invitation_create_for_visit(visit_id=visit.pk)
    services.invitation_sweep_due()
    link = received_link()
    return "/" + link.split("/", 3)[3]


def form_data(answers):
    return {f"q_{code}": str(value) for code, value in answers.items()}


# ---------------------------------------------------------------- the customer's page


def test_the_link_opens_a_light_page_without_login(client):
    url = open_link()
    response = client.get(url)
    body = response.content.decode()
    assert response.status_code == 200
    assert "车辆问题是否一次修好" in body and "非常满意" in body
    assert "刘洋" not in body  # the page shows nothing about the customer
    assert "bootstrap" not in body and len(response.content) < 40_000
    assert SurveyInvitation.objects.get().opened_at is not None


def test_required_answers_get_clear_messages_and_nothing_is_written(client):
    url = open_link()
    response = client.post(url, form_data({"rel_fixed_right": 5}))
    body = response.content.decode()
    assert response.status_code == 400
    assert "请回答这道题" in body and 'id="form-errors"' in body
    assert 'value="5" checked' in body  # what was answered stays answered
    assert not SurveyResponse.objects.exists()


def test_a_refusal_that_names_no_question_is_shown_not_a_500(client, monkeypatch):
    """Every refusal reads through shopcrm.refusals: one without field errors (it used
    message_dict, which raises on such an error) is the page's message."""
    from django.core.exceptions import ValidationError

    def refuse(**kwargs):
        raise ValidationError("这份问卷已停止收集。")

    url = open_link()
    monkeypatch.setattr(services, "response_submit_public", refuse)
    response = client.post(url, form_data(GOOD))
    assert response.status_code == 400
    assert "这份问卷已停止收集。" in response.content.decode()


def test_submit_once_then_thanks_and_already_answered(client):
    url = open_link()
    response = client.post(url, form_data({**GOOD, "comment": "很满意"}))
    assert response.status_code == 302 and response["Location"].endswith("/thanks/")
    assert "感谢您的评价" in client.get(response["Location"]).content.decode()
    again = client.post(url, form_data(GOOD))  # a resubmission or a double-click
    assert again.status_code == 200 and "已经填写过" in again.content.decode()
    assert "已经填写过" in client.get(url).content.decode()
    assert SurveyResponse.objects.count() == 1


def test_guessed_and_expired_links_get_a_friendly_page(client):
    url = open_link()
    guessed = client.get("/s/not-a-real-token-at-all/")
    assert guessed.status_code == 404 and "链接无效" in guessed.content.decode()
    SurveyInvitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = client.get(url)
    assert expired.status_code == 410 and "已过期" in expired.content.decode()
    assert client.post(url, form_data(GOOD)).status_code == 410
    assert not SurveyResponse.objects.exists()


def test_english_switch(client):
    url = open_link()
    client.post(reverse("set_language"), {"language": "en", "next": url})
    body = client.get(url).content.decode()
    assert "Was the problem fixed right the first time?" in body and "Very satisfied" in body


# ---------------------------------------------------------------- the agent's phone answers


@pytest.fixture
def call(client, agent):
    visit = make_delivered_visit(hours_ago=30)
    services.invitation_create_for_visit(visit_id=visit.pk)
    followup_services.post_service_task_create(visit_id=visit.pk)
    client.force_login(agent)
    client.post(reverse("followups:next"))
    return FollowUpTask.objects.get(status=FollowUpTask.Status.CLAIMED)


def test_the_three_day_call_shows_the_short_form(client, call):
    body = client.get(reverse("followups:call", args=[call.pk])).content.decode()
    assert 'id="phone-survey"' in body
    for text in ["车辆问题是否一次修好", "交车时车辆是否干净", "您向亲友推荐本店的可能性"]:
        assert text in body
    assert "休息区环境是否舒适" not in body  # not in the short form


def test_phone_answers_become_a_phone_response_with_the_outcome(client, call, agent):
    response = client.post(
        reverse("followups:outcome", args=[call.pk]),
        {"outcome": "reached_satisfied", **form_data({"rel_fixed_right": 5, "nps": 10})},
    )
    assert response.status_code == 302
    survey = SurveyResponse.objects.get()
    assert (survey.channel, survey.follow_up_task, survey.recorded_by) == ("phone", call, agent)
    assert survey.csi == 100
    assert SurveyInvitation.objects.get().status == SurveyInvitation.Status.SKIPPED


def test_bad_phone_answers_write_neither_the_answers_nor_the_outcome(client, call):
    response = client.post(
        reverse("followups:outcome", args=[call.pk]),
        {"outcome": "reached_satisfied", "q_nps": "12"},
    )
    assert response.status_code == 400
    assert "超出范围" in response.content.decode()
    call.refresh_from_db()
    assert call.status == FollowUpTask.Status.CLAIMED
    assert not SurveyResponse.objects.exists() and not CallAttempt.objects.exists()


def test_no_answer_ignores_the_survey_fields(client, call):
    client.post(
        reverse("followups:outcome", args=[call.pk]), {"outcome": "no_answer", "q_nps": "3"}
    )
    assert not SurveyResponse.objects.exists()


def test_the_recovery_call_shows_the_answers(client, agent):
    visit = make_delivered_visit()
    bad = services.response_create(
        template=selectors.template_default(),
        visit=visit,
        channel="sms",
        answers={**GOOD, "rel_fixed_right": 1, "nps": 3},
        submitted_at=timezone.now(),
        require_required=True,
    )
    client.force_login(agent)
    client.post(reverse("followups:next"))
    task = FollowUpTask.objects.get(source_key=f"survey_response:{bad.pk}")
    assert task.status == FollowUpTask.Status.CLAIMED  # most urgent first
    body = client.get(reverse("followups:call", args=[task.pk])).content.decode()
    assert 'id="alert-answers"' in body
    assert '车辆问题是否一次修好</span><span class="text-nowrap answer-value">1/5<' in body


# ---------------------------------------------------------------- the manager's pages


@pytest.fixture
def answered(db):
    advisor = UserFactory(role="advisor", username="zhangwei")
    rows = []
    for n, answers in enumerate([GOOD, {**GOOD, "nps": 5}, {"rel_fixed_right": 3, "nps": 8}]):
        visit = make_delivered_visit(hours_ago=30 + n)
        visit.advisor = advisor if n < 2 else None
        visit.save()
        rows.append(
            services.response_create(
                template=selectors.template_default(),
                visit=visit,
                channel="web" if n else "phone",
                answers=answers,
                submitted_at=timezone.now(),
                require_required=False,
            )
        )
    return advisor, rows


def test_list_shows_the_csi_and_nps_of_the_filter(manager_client, answered):
    advisor, rows = answered
    body = manager_client.get(reverse("surveys:list")).content.decode()
    mean_csi = sum(r.csi for r in rows) / 3
    assert f'id="summary-csi">{mean_csi:.1f}<' in body
    # promoters 1 (10), passive 1 (8), detractor 1 (5): NPS 0
    assert 'id="summary-nps">0.0<' in body
    filtered = manager_client.get(
        reverse("surveys:list"), {"advisor": advisor.pk, "alerts_only": "on"}
    ).content.decode()
    assert 'id="summary-count">1<' in filtered


def test_bad_filters_are_refused_with_a_message(manager_client, answered):
    response = manager_client.get(
        reverse("surveys:list"), {"start": "2026-11-20", "end": "2026-11-01"}
    )
    assert response.status_code == 400 and "结束日期不能早于开始日期" in response.content.decode()
    assert manager_client.get(reverse("surveys:list"), {"start": "not-a-date"}).status_code == 400


def test_detail_shows_the_answers_and_the_visit(manager_client, answered):
    _advisor, rows = answered
    body = manager_client.get(reverse("surveys:detail", args=[rows[0].pk])).content.decode()
    assert rows[0].visit.ro_number in body and "车辆问题是否一次修好" in body
    assert manager_client.get(reverse("surveys:detail", args=[999999])).status_code == 404


def test_export_csv_and_xlsx(manager_client, answered):
    csv_response = manager_client.get(reverse("surveys:export_csv"))
    text = csv_response.content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:2] == ["作答时间", "工单号"] and len(table) == 4
    xlsx = manager_client.get(reverse("surveys:export_xlsx"), {"channel": "web"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 3  # header + the two web responses


def test_integrity_flags_for_too_fast_and_top_marks(manager_client, answered):
    _advisor, rows = answered
    SurveyResponse.objects.filter(pk=rows[1].pk).update(completed_quickly=True)
    body = manager_client.get(reverse("surveys:list")).content.decode()
    assert "作答过快" in body
    flagged = manager_client.get(reverse("surveys:list"), {"flagged_only": "on"}).content.decode()
    assert 'id="summary-count">1<' in flagged


def test_one_address_hammering_the_public_page_is_slowed_down(client, settings):
    """Issue 15, part 7: a throttle per address on the public pages (a friendly 429)."""
    from django.core.cache import cache

    cache.clear()
    settings.SURVEY_PAGE_RATE = 3
    url = open_link()
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    busy = client.get(url)
    assert busy.status_code == 429 and "访问过于频繁" in busy.content.decode()
    assert client.get("/s/guessed-token/").status_code == 429  # guessing is counted too
    from django.test import Client

    assert Client(REMOTE_ADDR="10.1.2.3").get(url).status_code == 200  # another customer
    cache.clear()
