"""Labels say what they mean (issue 16, "looks real, reads right"): complaint root causes,
message purposes, the mileage unit, the admin's greeting, its people filters and the
django-axes section, in Chinese and English."""

import pytest
from django.utils import translation

from complaints.models import Complaint
from messaging.models import Message
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def zhao(db):
    return UserFactory(role="admin", username="admin9", last_name="赵", first_name="敏")


@pytest.fixture
def admin_client(client, zhao):
    client.force_login(zhao)
    return client


def in_english(client, url):
    client.cookies["django_language"] = "en"
    try:
        return client.get(url).content.decode()
    finally:
        del client.cookies["django_language"]


def test_root_causes_say_what_they_cover():
    assert Complaint.RootCause.VALUE.label == "价格/价值（收费、配件）"
    assert Complaint.RootCause.values == ["value", "system", "people"]  # the stored codes
    with translation.override("en"):
        labels = [str(label) for label in Complaint.RootCause.labels]
    assert labels == [
        "Price/value (charges, parts)",
        "Process/system (booking, scheduling, handover)",
        "People (attitude, skills)",
    ]


def test_message_purposes_are_named():
    message = Message(purpose="maintenance_reminder")
    assert message.get_purpose_display() == "保养提醒"
    with translation.override("en"):
        assert str(message.get_purpose_display()) == "Maintenance reminder"


def test_the_message_admin_filters_by_named_purpose(admin_client):
    body = admin_client.get("/admin/messaging/message/").content.decode()
    assert "满意度调查邀请" in body and "survey_invitation</a>" not in body


def test_the_admin_greets_by_full_name(admin_client):
    body = admin_client.get("/admin/").content.decode()
    assert "欢迎，<strong>赵敏</strong>" in body
    english = in_english(admin_client, "/admin/")
    assert "Welcome, <strong>赵敏</strong>" in english


def test_the_axes_section_is_translated(admin_client):
    body = admin_client.get("/admin/").content.decode()
    assert "登录保护" in body and "登录失败记录" in body
    assert "Access attempts" not in body
    english = in_english(admin_client, "/admin/")
    assert "Login lockout" in english and "Failed login records" in english
    page = admin_client.get("/admin/axes/accessattempt/").content.decode()
    assert "尝试时间" in page and "是否已锁定" in page


def test_admin_filters_list_people_by_name(admin_client, advisor):
    from tests.factories import VisitFactory

    VisitFactory(advisor=advisor)
    body = admin_client.get("/admin/visits/visit/").content.decode()
    assert "李娜" in body
    assert ">advisor1<" not in body


def test_mileage_bands_give_their_unit(manager_client):
    body = manager_client.get("/reports/").content.decode()
    assert "日均里程分布（日均公里）" in body
    english = in_english(manager_client, "/reports/")
    assert "Daily mileage bands (km/day)" in english
