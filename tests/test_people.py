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
from shopcrm.people import person_name
from surveys import services as survey_services
from surveys.models import SurveyPolicy
from tests.factories import CustomerFactory, UserFactory, VisitFactory
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
        template=survey_services.default_template(),
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
