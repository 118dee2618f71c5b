"""Staff are named one way everywhere (李娜: family name first, no space; "Anna Li" for Latin
names; the username only when no name is set): pages, the complaint timeline, every export
and every staff drop-down, which lists staff in the order of those names."""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from complaints import services as complaint_services
from followups import services as followup_services
from shopcrm.people import person_name
from surveys import selectors as survey_selectors
from surveys import services as survey_services
from surveys.models import SurveyPolicy
from tests.factories import CustomerFactory, UserFactory, VehicleFactory, VisitFactory
from tests.surveys.conftest import make_delivered_visit
from tests.surveys.test_services import GOOD
from visits.models import Visit

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna(db):
    return UserFactory(role="advisor", username="anna", first_name="Anna", last_name="Li")


def take_complaint(owner):
    return complaint_services.complaint_create(
        customer=CustomerFactory(),
        by=owner,
        category="overcharging",
        severity="medium",
        channel="phone",
        description="收费比报价高",
    )


def answered_by(advisor, answers=GOOD):
    visit = make_delivered_visit()
    visit.advisor = advisor
    visit.save()
    return survey_services.response_create(
        template=survey_selectors.template_default(),
        visit=visit,
        channel="web",
        answers=answers,
        submitted_at=timezone.now(),
        require_required=False,
    )


def table(response, fmt):
    if fmt == "csv":
        return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    rows = load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True)
    return [list(row) for row in rows]


def column(rows, header):
    at = rows[0].index(header)
    return sorted(row[at] for row in rows[1:])


# ---------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("first", "last", "name"),
    [
        ("娜", "李", "李娜"),
        (" 娜 ", " 李", "李娜"),
        ("Anna", "Li", "Anna Li"),
        ("Anna", "", "Anna"),
        ("", "李", "李"),
        ("", "", "advisor1"),
        ("  ", "", "advisor1"),
    ],
)
def test_a_person_is_named_family_name_first_only_in_chinese(first, last, name):
    user = get_user_model()(username="advisor1", first_name=first, last_name=last)
    shown = Template("{% load shopcrm_tags %}{{ user|person }}").render(Context({"user": user}))
    assert person_name(user) == shown == name


def test_nobody_has_no_name():
    assert person_name(None) == ""


# ---------------------------------------------------------------- the timeline and exports


def test_the_timeline_names_the_assignee(manager, advisor, anna):
    complaint = take_complaint(manager)
    complaint_services.complaint_assign(complaint=complaint, to=advisor, by=manager)
    complaint_services.complaint_assign(complaint=complaint, to=anna, by=manager)
    texts = list(complaint.events.filter(kind="assigned").values_list("text", flat=True))
    assert texts == ["分派给 李娜", "分派给 Anna Li"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_complaint_export_names_the_owner(manager_client, advisor, fmt):
    take_complaint(advisor)
    exported = manager_client.get(reverse(f"complaints:export_{fmt}"))
    assert column(table(exported, fmt), "首问负责人") == ["李娜"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_survey_export_names_the_advisor(manager_client, advisor, anna, fmt):
    answered_by(advisor)
    answered_by(anna)
    exported = manager_client.get(reverse(f"surveys:export_{fmt}"))
    assert column(table(exported, fmt), "服务顾问") == ["Anna Li", "李娜"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_visits_export_names_the_advisor(manager_client, advisor, fmt):
    moment = timezone.now() - timedelta(days=3)
    for staff, code in [(advisor, ""), (None, "A07")]:
        VisitFactory(
            advisor=staff,
            advisor_code=code,
            status=Visit.Status.DELIVERED,
            checked_in_at=moment - timedelta(hours=3),
            delivered_at=moment,
        )
    exported = manager_client.get(reverse(f"reports:visits_{fmt}"), {"preset": "last_12_months"})
    assert column(table(exported, fmt), "服务顾问") == ["A07", "李娜"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_advisor_ranking_and_its_export_name_the_advisors(manager_client, advisor, anna, fmt):
    answered_by(advisor)
    answered_by(anna)
    exported = manager_client.get(reverse(f"reports:export_{fmt}", args=["advisors"]))
    assert column(table(exported, fmt), "服务顾问") == ["Anna Li", "李娜"]
    chart = manager_client.get(reverse("reports:dashboard")).context["charts"]["advisors"]
    assert sorted(row["name"] for row in chart) == ["Anna Li", "李娜"]


def test_a_flagged_advisor_is_named(manager_client, advisor, anna):
    policy = SurveyPolicy.current()
    policy.top_marks_min_responses = 3
    policy.save()
    all_five = {code: 5 for code in GOOD if code != "nps"}
    for _n in range(3):
        answered_by(anna, all_five)
        answered_by(advisor)
    body = manager_client.get(reverse("surveys:list")).content.decode()
    flagged = re.findall(r"<div>([^<]+)：3 份答卷中全满分比例明显高于全店", body)
    assert flagged == ["Anna Li"]


# ---------------------------------------------------------------- drop-downs


def options(body, name, which=0):
    """The labels of a page's <select name=…> (the ``which``-th of that name), without the
    empty choice."""
    selects = re.findall(rf'<select name="{name}".*?</select>', body, re.S)
    assert len(selects) > which, f"no drop-down {name}"
    found = re.findall(r'<option value="([^"]*)"[^>]*>(.*?)</option>', selects[which], re.S)
    return [label.strip() for value, label in found if value]


@pytest.fixture
def staff(advisor, anna, manager):
    """Username order (advisor1, advisor2, anna) is not name order."""
    zhang = UserFactory(role="advisor", username="advisor2", last_name="张", first_name="伟")
    return {"advisor": advisor, "anna": anna, "zhang": zhang, "manager": manager}


def test_filter_drop_downs_show_names_in_name_order(manager_client, staff):
    advisors = ["Anna Li", "张伟", "李娜"]  # Latin, then Chinese by code point
    body = manager_client.get(reverse("surveys:list")).content.decode()
    assert options(body, "advisor") == advisors
    body = manager_client.get(reverse("reports:dashboard")).content.decode()
    assert options(body, "advisor") == advisors
    for owner in (staff["zhang"], staff["advisor"], staff["manager"]):
        take_complaint(owner)
    body = manager_client.get(reverse("complaints:list")).content.decode()
    assert options(body, "owner") == ["manager1", "张伟", "李娜"]


def test_the_assign_form_shows_names_in_name_order(manager_client, staff):
    complaint = take_complaint(staff["advisor"])
    body = manager_client.get(reverse("complaints:detail", args=[complaint.pk])).content.decode()
    assert options(body, "to") == ["Anna Li", "manager1", "张伟", "李娜"]


def test_the_team_queue_drop_downs_show_agents_in_name_order(manager_client):
    lina = UserFactory(role="agent", username="agent-a", last_name="李", first_name="娜")
    UserFactory(role="agent", username="agent-b", last_name="张", first_name="伟")
    UserFactory(role="agent", username="agent-c")
    delivered = timezone.now() - timedelta(hours=30)
    visit = VisitFactory(
        status=Visit.Status.DELIVERED,
        checked_in_at=delivered - timedelta(hours=2),
        delivered_at=delivered,
    )
    followup_services.post_service_task_create(visit_id=visit.pk)
    body = manager_client.get(reverse("followups:team")).content.decode()
    # The team queue's filter ("all" first), then the reassign drop-down of the task.
    assert options(body, "agent") == ["agent-c", "张伟", "李娜"]
    assert re.search(r'<select name="agent".*?<option value=""[^>]*>全部</option>', body, re.S)
    assert options(body, "agent", which=1) == ["agent-c", "张伟", "李娜"]
    assert f'<option value="{lina.pk}">李娜</option>' in body


def test_the_appointment_form_shows_advisors_in_name_order(advisor_client, staff):
    UserFactory(role="advisor", username="temp-advisor")
    url = reverse("visits:appointment_create", args=[VehicleFactory().pk])
    body = advisor_client.get(url).content.decode()
    assert options(body, "advisor") == ["Anna Li", "temp-advisor", "张伟", "李娜"]


def test_the_api_read_back_names_advisors_and_owners(manager_client, advisor):
    """Next to the username the DMS matches on, the name a person reads (API.md's fields
    stay as they are)."""
    visit = VisitFactory(advisor=advisor)
    answer = manager_client.get(f"/api/v1/visits/{visit.pk}/").json()
    assert (answer["advisor"], answer["advisor_name"]) == ("advisor1", "李娜")
    complaint = take_complaint(advisor)
    answer = manager_client.get(f"/api/v1/complaints/{complaint.pk}/").json()
    assert (answer["owner"], answer["owner_name"]) == ("advisor1", "李娜")
