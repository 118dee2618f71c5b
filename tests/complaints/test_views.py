"""Complaint pages through the test client: intake from each source, the list's urgency
order and colours, actions by role, exports, notifications; and the API."""

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from complaints import services
from complaints.models import Complaint, Notification
from customers.models import Customer
from followups import services as followup_services
from followups.models import FollowUpTask
from surveys import selectors as survey_selectors
from surveys import services as survey_services
from tests.factories import CustomerFactory, UserFactory, api_key, contact_all_day
from tests.surveys.conftest import make_delivered_visit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def calls_all_day():
    contact_all_day()


def take(owner, **extra):
    fields = {
        "customer": CustomerFactory(),
        "by": owner,
        "category": "overcharging",
        "severity": "medium",
        "channel": "phone",
        "description": "收费比报价高",
    }
    fields.update(extra)
    return services.complaint_create(**fields)


def test_reached_with_an_issue_is_a_complaint_the_agent_then_completes(client, agent):
    visit = make_delivered_visit()
    followup_services.post_service_task_create(visit_id=visit.pk)
    client.force_login(agent)
    client.post(reverse("followups:next"))
    task = FollowUpTask.objects.get(status=FollowUpTask.Status.CLAIMED)
    response = client.post(
        reverse("followups:outcome", args=[task.pk]),
        {"outcome": "reached_issue", "note": "刹车还是有异响"},
    )
    # The complaint exists as soon as the call is saved: leaving the form loses nothing.
    complaint = Complaint.objects.get()
    assert response["Location"] == reverse("complaints:complete", args=[complaint.pk])
    assert (complaint.owner, complaint.follow_up_task, complaint.visit) == (agent, task, visit)
    assert complaint.description == "刹车还是有异响"
    form = client.get(response["Location"]).content.decode()
    assert "刹车还是有异响" in form and complaint.number in form
    assert f'value="{visit.pk}" selected' in form and 'name="channel"' not in form
    # The old way in (the complaint form from the call) leads to the same complaint.
    again = client.get(f"{reverse('complaints:create')}?task={task.pk}")
    assert again["Location"] == response["Location"]
    bad = client.post(response["Location"], {"severity": "high", "description": ""})
    assert bad.status_code == 400 and "请选择投诉类别" in bad.content.decode()
    completed = client.post(
        response["Location"],
        {
            "category": "not_fixed_first_time",
            "severity": "high",
            "visit": visit.pk,
            "description": "刹车还是有异响，第二次了",
        },
    )
    assert completed["Location"] == reverse("complaints:detail", args=[complaint.pk])
    complaint.refresh_from_db()
    assert (complaint.category, complaint.severity) == ("not_fixed_first_time", "high")
    assert complaint.description == "刹车还是有异响，第二次了"
    assert Complaint.objects.count() == 1
    assert complaint.events.filter(kind="completed").count() == 1


def test_a_closed_complaint_is_not_completed_any_more(client, manager):
    complaint = take(manager)
    complaint = services.complaint_acknowledge(complaint=complaint, by=manager)
    complaint = services.complaint_resolve(
        complaint=complaint,
        by=manager,
        resolution="退款",
        root_cause="people",
        corrective_action="培训",
    )
    services.complaint_close(complaint=complaint, by=manager)
    client.force_login(manager)
    answer = client.post(
        reverse("complaints:complete", args=[complaint.pk]),
        {"category": "attitude", "severity": "low", "description": "改一下"},
    )
    assert answer.status_code == 400 and "不能再修改" in answer.content.decode()
    complaint.refresh_from_db()
    assert complaint.category == "overcharging" and complaint.description == "收费比报价高"


def test_only_who_made_or_supervises_a_call_files_from_its_notes(client, agent, manager):
    """``?task=`` prefills the call's notes: another agent counting up ids gets a 403, not
    the note (issue 15, access by object); the advisor has no call access at all."""
    visit = make_delivered_visit()
    followup_services.post_service_task_create(visit_id=visit.pk)
    client.force_login(agent)
    client.post(reverse("followups:next"))
    task = FollowUpTask.objects.get(status=FollowUpTask.Status.CLAIMED)
    client.post(
        reverse("followups:outcome", args=[task.pk]),
        {"outcome": "reached", "note": "刹车还是有异响"},  # noted, not an issue
    )
    url = f"{reverse('complaints:create')}?task={task.pk}"
    assert client.get(url).status_code == 200  # the agent who made the call
    other = UserFactory(role="agent", username="agent-other")
    client.force_login(other)
    response = client.get(url)
    assert response.status_code == 403 and "刹车还是有异响" not in response.content.decode()
    assert client.post(url, {"channel": "follow_up", "severity": "low"}).status_code == 403
    client.force_login(UserFactory(role="advisor", username="advisor-other"))
    assert client.get(url).status_code == 403
    client.force_login(manager)
    assert client.get(url).status_code == 200
    assert not Complaint.objects.exists()


def test_bad_intake_gets_clear_errors_and_writes_nothing(client, advisor):
    customer = CustomerFactory()
    client.force_login(advisor)
    url = f"{reverse('complaints:create')}?customer={customer.pk}"
    response = client.post(url, {"channel": "walk_in", "severity": "low", "description": ""})
    body = response.content.decode()
    assert response.status_code == 400
    assert "请选择投诉类别" in body and "请填写投诉内容" in body
    assert not Complaint.objects.exists()


def test_a_survey_alert_brings_its_answers(client, manager):
    visit = make_delivered_visit()
    survey = survey_services.response_create(
        template=survey_selectors.template_default(),
        visit=visit,
        channel="sms",
        answers={"rel_fixed_right": 1, "nps": 2},
        submitted_at=timezone.now(),
        require_required=False,
    )
    client.force_login(manager)
    url = f"{reverse('complaints:create')}?response={survey.pk}"
    form = client.get(url).content.decode()
    assert 'id="attached-answers"' in form and "车辆问题是否一次修好：1" in form
    client.post(
        url,
        {
            "channel": "survey_alert",
            "category": "not_fixed_first_time",
            "severity": "high",
            "description": "调查预警",
        },
    )
    assert Complaint.objects.get().survey_response == survey


def test_without_a_customer_the_form_asks_for_one(client, advisor):
    customer = CustomerFactory(name="韩梅梅")
    client.force_login(advisor)
    body = client.get(reverse("complaints:create"), {"q": "韩梅梅"}).content.decode()
    assert f"?customer={customer.pk}" in body


def test_list_is_sorted_by_urgency_with_overdue_in_red(client, manager, advisor):
    calm = take(advisor, severity="low")
    late = take(advisor, severity="medium")
    soon = take(advisor, severity="high")
    Complaint.objects.filter(pk=late.pk).update(
        first_response_due_at=timezone.now() - timedelta(hours=1)
    )
    Complaint.objects.filter(pk=soon.pk).update(
        first_response_due_at=timezone.now() + timedelta(minutes=20)
    )
    client.force_login(manager)
    body = client.get(reverse("complaints:list")).content.decode()
    assert body.index(late.number) < body.index(soon.number) < body.index(calm.number)
    assert 'data-sla="overdue"' in body and 'data-sla="due_soon"' in body
    overdue = client.get(reverse("complaints:list"), {"overdue": "on", "status": "open"})
    assert late.number in overdue.content.decode() and calm.number not in overdue.content.decode()
    bad = client.get(reverse("complaints:list"), {"start": "2026-11-20", "end": "2026-11-01"})
    assert bad.status_code == 400 and "结束日期不能早于开始日期" in bad.content.decode()


def test_my_complaints(client, advisor, agent):
    mine = take(advisor)
    theirs = take(agent)
    client.force_login(advisor)
    body = client.get(reverse("complaints:mine")).content.decode()
    assert mine.number in body and theirs.number not in body


def test_only_the_owner_assignee_or_a_manager_works_a_complaint(client, advisor, agent, manager):
    complaint = take(advisor)
    client.force_login(agent)  # not the owner
    ack = reverse("complaints:action", args=[complaint.pk, "acknowledge"])
    assert client.post(ack).status_code == 403
    client.force_login(advisor)
    assert client.post(ack).status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == "acknowledged"
    assign = reverse("complaints:action", args=[complaint.pk, "assign"])
    assert client.post(assign, {"to": agent.pk}).status_code == 403  # managers assign
    client.force_login(manager)
    client.post(assign, {"to": agent.pk})
    client.force_login(agent)  # now it is assigned to them
    resolve = reverse("complaints:action", args=[complaint.pk, "resolve"])
    response = client.post(resolve, {"resolution": "", "root_cause": ""})
    assert response.status_code == 400
    complaint.refresh_from_db()
    assert complaint.status == "acknowledged"
    client.post(
        resolve,
        {"resolution": "退还差价", "root_cause": "value", "corrective_action": "报价单加确认"},
    )
    complaint.refresh_from_db()
    assert complaint.status == "resolved"
    illegal = client.post(reverse("complaints:action", args=[complaint.pk, "start"]), follow=True)
    assert "不能改为" in illegal.content.decode()
    assert client.post(reverse("complaints:action", args=[complaint.pk, "fly"])).status_code == 404


def test_detail_shows_the_timeline(client, manager, advisor):
    complaint = take(advisor)
    services.complaint_add_note(complaint=complaint, by=advisor, text="客户已到店", contact=True)
    client.force_login(manager)
    body = client.get(reverse("complaints:detail", args=[complaint.pk])).content.decode()
    assert "客户已到店" in body and "联系客户" in body and complaint.number in body


def test_exports(client, manager, advisor):
    take(advisor)
    take(advisor, category="attitude")
    client.force_login(manager)
    text = client.get(reverse("complaints:export_csv")).content.decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][0] == "投诉编号" and len(table) == 3
    xlsx = client.get(reverse("complaints:export_xlsx"), {"category": "attitude", "status": ""})
    assert load_workbook(io.BytesIO(xlsx.content)).active.max_row == 2
    client.force_login(advisor)
    assert client.get(reverse("complaints:export_csv")).status_code == 403


def test_notifications_page_and_badge(client, advisor):
    complaint = take(advisor)
    services.notification_send(users=[advisor], text="测试通知", url="/complaints/", key="t:1")
    client.force_login(advisor)
    home = client.get(reverse("complaints:detail", args=[complaint.pk])).content.decode()
    assert 'id="unread-count">1<' in home
    assert "测试通知" in client.get(reverse("complaints:notifications")).content.decode()
    client.post(reverse("complaints:notifications"))
    assert not Notification.objects.filter(read_at__isnull=True).exists()


# ---------------------------------------------------------------- the API


@pytest.fixture
def hotline(db):
    user = UserFactory(role="hotline_client", username="oem-hotline")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    return api


def test_the_hotline_creates_a_complaint_once(hotline, advisor):
    customer = CustomerFactory(external_id="C9", phone="+8613912345678")
    body = {
        "external_id": "OEM-77",
        "customer_phone": "139 1234 5678",
        "category": "warranty_dispute",
        "severity": "high",
        "description": "厂家热线转来：保修被拒",
    }
    first = hotline.post("/api/v1/complaints/", body, format="json")
    assert first.status_code == 201, first.json()
    data = first.json()
    assert data["channel"] == "oem_hotline" and data["owner"] is None
    assert data["number"].startswith("C-")
    again = hotline.post("/api/v1/complaints/", body, format="json")
    assert again.status_code == 200 and again.json()["id"] == data["id"]
    complaint = Complaint.objects.get()
    assert complaint.customer == customer
    services.complaint_acknowledge(complaint=complaint, by=advisor)
    complaint.refresh_from_db()
    assert complaint.owner == advisor  # whoever responds first owns it
    listed = hotline.get("/api/v1/complaints/", {"status": "acknowledged"}).json()["results"]
    assert [c["external_id"] for c in listed] == ["OEM-77"]
    since = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert hotline.get("/api/v1/complaints/", {"updated_since": since}).json()["results"] == []
    assert hotline.get(f"/api/v1/complaints/{complaint.pk}/").json()["status"] == "acknowledged"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer_external_id": "nobody"}, "customer_external_id"),
        ({"customer_phone": "12"}, "customer_phone"),
        ({"customer_phone": "137 0000 1111", "customer_name": "x" * 101}, "customer_name"),
        ({}, "customer_external_id"),
        ({"customer_external_id": "C9", "category": "bad"}, "category"),
        ({"customer_external_id": "C9", "description": ""}, "description"),
        ({"customer_external_id": "C9", "visit_external_id": "R404"}, "visit_external_id"),
    ],
)
def test_bad_api_complaints_are_refused_with_field_errors(hotline, body, field):
    CustomerFactory(external_id="C9")
    payload = {"external_id": "OEM-1", "category": "attitude", "description": "x", **body}
    response = hotline.post("/api/v1/complaints/", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not Complaint.objects.exists()


def test_api_permissions(agent, advisor):
    api = APIClient()
    api.force_authenticate(agent)
    assert api.get("/api/v1/complaints/").status_code == 200  # agents view complaints
    assert APIClient().get("/api/v1/complaints/").status_code in (401, 403)
    reader = UserFactory(username="no-role")
    api.force_authenticate(reader)
    assert api.post("/api/v1/complaints/", {}, format="json").status_code == 403


def test_the_hotline_reads_back_only_its_own_complaints_without_customer_ids(hotline, advisor):
    """Issue 15, part 4: the hotline's token listed every complaint of the shop."""
    CustomerFactory(external_id="C9", phone="+8613912345678")
    services.complaint_create(
        customer=CustomerFactory(),
        by=advisor,
        category="attitude",
        severity="low",
        channel="walk_in",
        description="门店的投诉，与厂家无关",
    )
    mine = hotline.post(
        "/api/v1/complaints/",
        {
            "external_id": "OEM-1",
            "customer_phone": "139 1234 5678",
            "category": "attitude",
            "description": "x",
        },
        format="json",
    ).json()
    assert "customer_id" not in mine and "customer_external_id" not in mine
    listed = hotline.get("/api/v1/complaints/").json()["results"]
    assert [c["external_id"] for c in listed] == ["OEM-1"]
    shop_complaint = Complaint.objects.get(channel="walk_in")
    assert hotline.get(f"/api/v1/complaints/{shop_complaint.pk}/").status_code == 404
    assert hotline.get(f"/api/v1/complaints/{mine['id']}/").status_code == 200


def test_the_hotline_cannot_probe_whether_a_phone_is_a_customer(hotline):
    """An unknown number is a new customer with the complaint, answered exactly like a
    known one (it used to be a 400 "no customer with this phone")."""
    CustomerFactory(phone="+8613912345678")
    answers = []
    for n, phone in enumerate(["139 1234 5678", "137 0000 1111"]):
        response = hotline.post(
            "/api/v1/complaints/",
            {
                "external_id": f"OEM-P{n}",
                "customer_phone": phone,
                "customer_name": "孙丽",
                "category": "attitude",
                "description": "x",
            },
            format="json",
        )
        assert response.status_code == 201
        answers.append(set(response.json()))
    assert answers[0] == answers[1]
    new = Customer.objects.get(phone="+8613700001111")
    assert new.name == "孙丽" and new.complaints.count() == 1


@pytest.mark.parametrize("role", ["advisor", "agent"])
def test_the_desk_and_the_agents_read_back_no_more_than_their_pages(role):
    """No survey answers or comments for advisors and agents, no team's calls for agents."""
    api = APIClient()
    api.force_authenticate(UserFactory(role=role))
    assert api.get("/api/v1/survey-responses/").status_code == 403
    assert api.get("/api/v1/follow-up-tasks/").status_code == 403


def test_a_resolved_complaint_shows_its_owner_no_empty_actions_card(client, advisor, manager):
    """Issue 16, bug 8: an empty bordered card sat at the top of a resolved complaint's page
    for its owner (nothing left to do there but add a note)."""
    complaint = take(advisor)
    services.complaint_acknowledge(complaint=complaint, by=advisor)
    services.complaint_start(complaint=complaint, by=advisor)
    services.complaint_resolve(
        complaint=complaint,
        by=advisor,
        resolution="退还多收的工时费",
        root_cause="value",
        corrective_action="报价单与结算单核对",
    )
    url = reverse("complaints:detail", args=[complaint.pk])
    client.force_login(advisor)
    body = client.get(url).content.decode()
    assert 'id="complaint-actions"' not in body and 'id="note-form"' in body
    client.force_login(manager)  # a manager may close or reopen it
    body = client.get(url).content.decode()
    assert 'id="complaint-actions"' in body and 'id="close"' in body and 'id="reopen"' in body
