"""The comments page: top terms for a period, a term's texts linked to their records, who
may see it, and bad input (an incomplete period, an unknown term, a term too long)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from complaints import services as complaint_services
from followups.models import CallAttempt, FollowUpTask
from surveys import selectors as survey_selectors
from surveys import services as survey_services
from tests.factories import contact_all_day
from tests.surveys.conftest import make_delivered_visit

pytestmark = pytest.mark.django_db
URL = reverse("textinsights:comments")


@pytest.fixture
def texts(manager, agent):
    """A survey comment, a call note and a complaint, all about the brake pads, written
    yesterday; and an old comment outside the period."""
    contact_all_day()
    now = timezone.now()
    visit = make_delivered_visit()
    response = survey_services.response_create(
        template=survey_selectors.template_default(),
        visit=visit,
        channel="sms",
        answers={"comment": "刹车片换得很及时，师傅很专业"},
        submitted_at=now - timedelta(days=1),
        require_required=False,
    )
    task = FollowUpTask.objects.create(
        kind=FollowUpTask.Kind.POST_SERVICE,
        customer=visit.customer,
        visit=visit,
        due_at=now,
        next_attempt_at=now,
        status=FollowUpTask.Status.DONE,
        outcome=FollowUpTask.Outcome.REACHED_ISSUE,
        outcome_note="刹车片有异响",
        completed_at=now - timedelta(days=1),
    )
    CallAttempt.objects.create(
        task=task,
        agent=agent,
        started_at=now - timedelta(days=1, hours=1),
        ended_at=now - timedelta(days=1),
        outcome=FollowUpTask.Outcome.REACHED_ISSUE,
        notes="刹车片有异响",  # the same note as the task's: listed once
    )
    complaint = complaint_services.complaint_create(
        customer=visit.customer,
        by=manager,
        category="product_quality",
        severity="medium",
        channel="phone",
        description="新换的刹车片一周就有异响，很不满意",
        visit=visit,
        received_at=now - timedelta(days=1),
    )
    old = survey_services.response_create(
        template=survey_selectors.template_default(),
        visit=make_delivered_visit(),
        channel="sms",
        answers={"comment": "变速箱有异响"},
        submitted_at=now - timedelta(days=500),
        require_required=False,
    )
    return response, task, complaint, old


def period(**extra):
    today = timezone.localdate()
    query = {"preset": "custom", "start": today - timedelta(days=7), "end": today}
    return {**query, **extra}


def test_the_period_top_terms_with_counts_and_sentiment(manager_client, texts):
    response = manager_client.get(URL, period())
    body = response.content.decode()
    assert response.status_code == 200
    rows = {row.term: row for row in response.context["top"]["terms"]}
    assert rows["刹车片"].count == 3 and rows["异响"].count == 2
    assert rows["异响"].sentiment < 0 < rows["专业"].sentiment
    assert "变速箱" not in rows  # written before the period
    assert 'id="top-terms"' in body and 'id="top-phrases"' in body
    assert "term=%E5%88%B9%E8%BD%A6%E7%89%87" in body  # 刹车片's drill-down link


def test_a_term_lists_its_texts_each_linked_to_its_record(manager_client, texts):
    survey, task, complaint, _old = texts
    response = manager_client.get(URL, period(term="异响"))
    body = response.content.decode()
    assert response.status_code == 200 and response.context["found_count"] == 2
    assert reverse("followups:call", args=[task.pk]) in body
    assert reverse("complaints:detail", args=[complaint.pk]) in body
    assert complaint.number in body
    assert reverse("surveys:detail", args=[survey.pk]) not in body  # it has no 异响
    phrase = manager_client.get(URL, period(term="刹车片 异响"))
    assert phrase.context["found_count"] == 2
    praise = manager_client.get(URL, period(term="专业"))
    assert reverse("surveys:detail", args=[survey.pk]) in praise.content.decode()


def test_an_unknown_term_says_no_text_has_it(manager_client, texts):
    response = manager_client.get(URL, period(term="火星"))
    assert response.status_code == 200 and response.context["found_count"] == 0
    assert 'id="no-comments"' in response.content.decode()


def test_bad_input_gets_a_clear_error(manager_client, texts):
    empty = manager_client.get(URL, {"preset": "custom", "start": "", "end": ""})
    assert empty.status_code == 400 and "自定义期间需要开始和结束日期" in empty.content.decode()
    backwards = manager_client.get(URL, period(start="2026-11-20", end="2026-11-01"))
    assert backwards.status_code == 400
    assert "结束日期不能早于开始日期" in backwards.content.decode()
    junk = manager_client.get(URL, period(start="not-a-date"))
    assert junk.status_code == 400
    long = manager_client.get(URL, period(term="刹" * 2000))
    assert long.status_code == 400 and "词语过长" in long.content.decode()
    far = manager_client.get(URL, period(start="9999-12-30", end="9999-12-31"))
    assert far.status_code == 400 and "日期须在" in far.content.decode()
    unknown = manager_client.get(URL, {"preset": "next_century"})
    assert unknown.status_code == 400
    nul = manager_client.get(URL, period(term="刹车\x00片"))  # the middleware's own refusal
    assert nul.status_code == 400 and "无法处理的字符" in nul.content.decode()
    markup = manager_client.get(URL, period(term="<script>alert(1)</script>"))
    assert markup.status_code == 200 and markup.context["found_count"] == 0
    assert "<script>alert(1)</script>" not in markup.content.decode()


def test_the_default_period_is_last_month(manager_client):
    response = manager_client.get(URL)
    assert response.status_code == 200 and response.context["top"]["texts"] == 0


def test_only_who_reads_the_reports_sees_the_comments(client, advisor, agent, texts):
    for user in (advisor, agent):
        client.force_login(user)
        response = client.get(URL, period(term="异响"))
        assert response.status_code == 403 and "刹车片有异响" not in response.content.decode()
    client.logout()
    assert client.get(URL)["Location"].startswith(reverse("login"))


def test_the_dashboard_links_to_the_comments_of_its_period(manager_client):
    body = manager_client.get(reverse("reports:dashboard"), period()).content.decode()
    today = timezone.localdate()
    assert f"{URL}?preset=custom&amp;start={today - timedelta(days=7)}&amp;end={today}" in body
