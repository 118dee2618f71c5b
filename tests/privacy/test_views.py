"""The customer page's erase and export actions: managers and administrators only, a
confirmation by name, the export's content in JSON and XLSX, and both recorded."""

import io
import json

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from customers.models import Customer
from privacy.models import AccessExportRecord, ErasureRecord
from tests.factories import CustomerFactory, UserFactory
from tests.privacy.conftest import EMAIL, NAME, PHONE, PHONE2, PLATE, VIN

pytestmark = pytest.mark.django_db


def erase_url(customer):
    return reverse("privacy:erase", args=[customer.pk])


def export_url(customer, fmt):
    return reverse("privacy:export", args=[customer.pk, fmt])


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("advisor", False),
        ("agent", False),
        ("dms_client", False),
        ("manager", True),
        ("admin", True),
    ],
)
def test_only_managers_and_administrators_may_erase_or_export(client, role, allowed):
    customer = CustomerFactory(name="权限测试")
    client.force_login(UserFactory(role=role, username=f"privacy-{role}"))
    expected = 200 if allowed else 403
    assert client.get(erase_url(customer)).status_code == expected
    posted = client.post(erase_url(customer), {"confirm_name": "权限测试"})
    assert posted.status_code == (302 if allowed else 403)
    assert client.post(export_url(customer, "json")).status_code == expected
    assert ErasureRecord.objects.count() == (1 if allowed else 0)
    assert AccessExportRecord.objects.count() == (1 if allowed else 0)


def test_anonymous_users_are_sent_to_sign_in(client):
    customer = CustomerFactory()
    for response in (client.get(erase_url(customer)), client.post(export_url(customer, "json"))):
        assert response.status_code == 302 and "login" in response["Location"]


def test_the_customer_page_offers_the_actions_to_managers_only(client, manager, advisor):
    customer = CustomerFactory()
    page = reverse("customers:detail", args=[customer.pk])
    client.force_login(manager)
    body = client.get(page).content.decode()
    assert erase_url(customer) in body and export_url(customer, "xlsx") in body
    client.force_login(advisor)
    body = client.get(page).content.decode()
    assert erase_url(customer) not in body and export_url(customer, "json") not in body


def test_a_wrong_name_erases_nothing(manager_client):
    customer = CustomerFactory(name="张三丰")
    response = manager_client.post(erase_url(customer), {"confirm_name": "张三"})
    assert response.status_code == 400
    assert "输入的姓名与客户姓名不一致" in response.content.decode()
    customer.refresh_from_db()
    assert customer.name == "张三丰" and not ErasureRecord.objects.exists()


@pytest.mark.postgres
def test_erasing_in_the_browser(manager_client, manager, everywhere):
    customer = everywhere.customer
    page = manager_client.get(erase_url(customer)).content.decode()
    assert NAME in page and "无法恢复" in page
    response = manager_client.post(erase_url(customer), {"confirm_name": f" {NAME} "})
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    customer.refresh_from_db()
    assert customer.name == f"已删除客户 #{customer.pk}"
    record = ErasureRecord.objects.get()
    assert (record.customer, record.erased_by, record.via) == (customer, manager, "browser")
    body = manager_client.get(response["Location"]).content.decode()
    assert f"客户 #{customer.pk} 的个人信息已删除" in body and NAME not in body


def test_a_merged_record_is_not_offered(manager_client):
    target = CustomerFactory()
    merged = CustomerFactory(merged_into=target)
    assert manager_client.get(erase_url(merged)).status_code == 404
    assert manager_client.post(export_url(merged, "json")).status_code == 404


def test_an_unknown_format_or_a_get_is_refused(manager_client):
    customer = CustomerFactory()
    assert manager_client.post(export_url(customer, "csv")).status_code == 404
    assert manager_client.get(export_url(customer, "json")).status_code == 405
    assert not AccessExportRecord.objects.exists()


@pytest.mark.postgres
def test_the_json_export_holds_everything_about_the_customer(manager_client, manager, everywhere):
    customer = everywhere.customer
    response = manager_client.post(export_url(customer, "json"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert f'filename="customer-{customer.pk}-personal-data-' in response["Content-Disposition"]
    data = json.loads(response.content)
    sections = data["sections"]
    assert data["customer_id"] == customer.pk
    people = {row["id"]: row for row in sections["customers"]}
    assert set(people) == {customer.pk, everywhere.duplicate.pk}  # the merged record too
    assert people[customer.pk]["phone"] == PHONE and people[customer.pk]["email"] == EMAIL
    assert [(v["vin"], v["plate"]) for v in sections["vehicles"]] == [(VIN, PLATE)]
    assert NAME in sections["visits"][0]["concern"]
    assert any(NAME in (row["text"] or "") for row in sections["survey_answers"])
    assert NAME in sections["complaints"][0]["description"]
    assert len(sections["complaint_events"]) >= 3
    assert any(NAME in row["notes"] for row in sections["calls"])
    assert {row["recipient"] for row in sections["messages"]} >= {PHONE}
    assert {row["phone"] for row in sections["sms_replies"]} == {PHONE, PHONE2}
    assert sections["phone_reveals"][0]["user"] == "privacy-advisor"
    assert len(sections["history"]) >= 3
    record = AccessExportRecord.objects.get()
    assert (record.customer, record.exported_by, record.format) == (customer, manager, "json")


@pytest.mark.postgres
def test_the_xlsx_export_has_a_sheet_per_table(manager_client, everywhere):
    customer = everywhere.customer
    response = manager_client.post(export_url(customer, "xlsx"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames[:4] == ["客户", "车辆", "预约", "工单"]
    assert "资料变更记录" in book.sheetnames
    rows = list(book["客户"].values)
    assert rows[0][:4] == ("ID", "姓名/单位名称", "客户类型", "手机号")
    # A leading "+" is written with an apostrophe, as in every export (shopcrm.exports).
    assert {row[3] for row in rows[1:]} >= {f"'{PHONE}"}
    assert any(NAME in str(row) for row in book["工单"].values)
    assert AccessExportRecord.objects.get().format == "xlsx"


def test_a_formula_in_a_name_is_not_run_by_excel(manager_client):
    customer = CustomerFactory(name="=HYPERLINK(1)")
    response = manager_client.post(export_url(customer, "xlsx"))
    book = load_workbook(io.BytesIO(response.content))
    assert list(book["客户"].values)[1][1] == "'=HYPERLINK(1)"
    assert Customer.objects.get(pk=customer.pk).name == "=HYPERLINK(1)"


@pytest.mark.parametrize(
    "url",
    [
        "admin:privacy_retentionpolicy_changelist",
        "admin:privacy_erasurerecord_changelist",
        "admin:privacy_accessexportrecord_changelist",
    ],
)
def test_the_administrator_sees_the_policy_and_the_records(client, url):
    client.force_login(UserFactory(role="admin", username="privacy-admin"))
    assert client.get(reverse(url)).status_code == 200


def test_the_retention_policy_is_edited_in_the_admin(client):
    from privacy.models import RetentionPolicy

    client.force_login(UserFactory(role="admin", username="privacy-admin"))
    policy = RetentionPolicy.current()
    url = reverse("admin:privacy_retentionpolicy_change", args=[policy.pk])
    assert client.get(url).status_code == 200
    fields = {
        "message_body_days": 90,
        "phone_reveal_days": 365,
        "login_attempt_days": 0,
        "idempotency_days": 7,
    }
    response = client.post(url, fields)
    assert response.status_code == 200  # refused: at least one day
    fields["login_attempt_days"] = 30
    assert client.post(url, fields).status_code == 302
    policy.refresh_from_db()
    assert (policy.message_body_days, policy.login_attempt_days) == (90, 30)
