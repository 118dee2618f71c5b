"""Customer pages through the test client: what a user sees, including the refusals."""

import pytest
from django.urls import reverse

from customers.models import Customer, PhoneReveal, Vehicle
from tests.factories import CustomerFactory, VehicleFactory, valid_vin, wrong_check_digit

pytestmark = pytest.mark.django_db


def test_search_page_shows_a_match_and_offers_check_in(advisor_client):
    vehicle = VehicleFactory(plate="粤B12345")
    response = advisor_client.get(reverse("customers:search"), {"q": "粤b12345"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "粤B12345" in body
    assert f"?vehicle={vehicle.pk}" in body


def test_unknown_plate_offers_a_new_check_in_with_the_plate(advisor_client):
    response = advisor_client.get(reverse("customers:search"), {"q": "京a 99999"})
    body = response.content.decode()
    assert "没有找到" in body
    assert "plate=%E4%BA%ACA99999" in body


def test_customer_page_masks_the_phone(advisor_client):
    customer = CustomerFactory(phone="+8613812345678")
    body = advisor_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "138****5678" in body
    assert "13812345678" not in body


def test_reveal_returns_the_number_and_records_it(advisor_client, advisor):
    customer = CustomerFactory(phone="+8613812345678")
    response = advisor_client.post(reverse("customers:reveal_phone", args=[customer.pk]))
    assert response.json() == {"phone": "13812345678", "e164": "+8613812345678"}
    assert PhoneReveal.objects.filter(user=advisor, customer=customer).count() == 1


def test_reveal_needs_post(advisor_client):
    customer = CustomerFactory()
    response = advisor_client.get(reverse("customers:reveal_phone", args=[customer.pk]))
    assert response.status_code == 405
    assert PhoneReveal.objects.count() == 0


def test_agent_may_not_reveal(client, agent):
    client.force_login(agent)
    customer = CustomerFactory()
    response = client.post(reverse("customers:reveal_phone", args=[customer.pk]))
    assert response.status_code == 403
    assert PhoneReveal.objects.count() == 0


def test_create_customer(advisor_client):
    response = advisor_client.post(
        reverse("customers:create"),
        {
            "customer_name": "王芳",
            "customer_phone": "139-0000-0001",
            "customer_kind": "individual",
            "preferred_channel": "sms",
            "contact_window": "any",
        },
    )
    customer = Customer.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[customer.pk])
    assert customer.phone == "+8613900000001"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"customer_name": "王芳", "customer_phone": "12345"}, "不是有效的手机号"),
        ({"customer_name": "", "customer_phone": "13900000001"}, "新客户必须填写此项"),
        (
            {"customer_name": "王芳", "customer_phone": "13900000001", "email": "not-mail"},
            "合法的邮件地址",
        ),
    ],
)
def test_create_customer_bad_input_shows_errors_and_saves_nothing(advisor_client, data, message):
    data = {
        "customer_kind": "individual",
        "preferred_channel": "sms",
        "contact_window": "any",
        **data,
    }
    response = advisor_client.post(reverse("customers:create"), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Customer.objects.count() == 0


def test_create_customer_with_a_known_phone_offers_the_existing_one(advisor_client):
    existing = CustomerFactory(name="张伟", phone="+8613900000001")
    response = advisor_client.post(
        reverse("customers:create"),
        {
            "customer_name": "张大伟",
            "customer_phone": "13900000001",
            "customer_kind": "individual",
            "preferred_channel": "sms",
            "contact_window": "any",
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "已有此客户" in body and reverse("customers:detail", args=[existing.pk]) in body
    assert Customer.objects.count() == 1


def test_add_vehicle_with_bad_vin_then_override(advisor_client, advisor):
    customer = CustomerFactory()
    url = reverse("customers:vehicle_create", args=[customer.pk])
    vin = wrong_check_digit(valid_vin(9))
    response = advisor_client.post(url, {"vin": vin, "plate": "粤B54321"})
    assert response.status_code == 400
    assert "校验位" in response.content.decode()
    assert Vehicle.objects.count() == 0
    response = advisor_client.post(
        url, {"vin": vin, "plate": "粤B54321", "vin_check_override": "on"}
    )
    assert response.status_code == 302
    vehicle = Vehicle.objects.get()
    assert vehicle.vin_check_override and vehicle.vin_override_by == advisor


def test_add_vehicle_with_a_known_vin_offers_the_existing_one(advisor_client):
    existing = VehicleFactory()
    customer = CustomerFactory()
    response = advisor_client.post(
        reverse("customers:vehicle_create", args=[customer.pk]), {"vin": existing.vin}
    )
    assert response.status_code == 400
    assert "已有此车辆" in response.content.decode()
    assert Vehicle.objects.count() == 1


def test_merge_page(manager_client, manager):
    target, source = CustomerFactory(), CustomerFactory()
    VehicleFactory(owner=source)
    url = reverse("customers:merge", args=[source.pk])
    response = manager_client.post(url, {"target_id": 999999, "confirm": "on"})
    assert response.status_code == 400 and "没有这个客户编号" in response.content.decode()
    response = manager_client.post(url, {"target_id": target.pk, "confirm": "on"})
    assert response.status_code == 302
    assert target.vehicles.count() == 1
    # The old page now leads to the record that was kept.
    response = manager_client.get(reverse("customers:detail", args=[source.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:detail", args=[target.pk])


def test_admin_merge_action(client, db):
    from tests.factories import UserFactory

    admin_user = UserFactory(role="admin", username="root1")
    client.force_login(admin_user)
    older, newer = CustomerFactory(), CustomerFactory()
    VehicleFactory(owner=newer)
    response = client.post(
        reverse("admin:customers_customer_changelist"),
        {"action": "merge_selected", "_selected_action": [older.pk, newer.pk]},
    )
    assert response.status_code == 302
    newer.refresh_from_db()
    assert newer.merged_into == older
    assert older.vehicles.count() == 1


def edit_data(**overrides):
    data = {
        "customer_name": "张伟",
        "customer_phone": "",
        "customer_kind": "individual",
        "preferred_channel": "wechat",
        "contact_window": "evening",
    }
    data.update(overrides)
    return data


def test_edit_form_does_not_reveal_the_phone(advisor_client):
    customer = CustomerFactory(phone="+8613812345678")
    body = advisor_client.get(reverse("customers:edit", args=[customer.pk])).content.decode()
    assert "13812345678" not in body and "138****5678" in body
    assert PhoneReveal.objects.count() == 0


def test_edit_keeps_the_phone_when_left_empty_and_history_says_what_changed(
    advisor_client, advisor
):
    customer = CustomerFactory(name="张为", phone="+8613812345678")
    response = advisor_client.post(reverse("customers:edit", args=[customer.pk]), edit_data())
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, customer.phone, customer.preferred_channel) == (
        "张伟",
        "+8613812345678",
        "wechat",
    )
    page = advisor_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    history = page.split('id="customer-history"')[1]
    assert "张为 → <strong>张伟</strong>" in history
    assert "微信" in history and "李娜" in history


def test_edit_to_another_customers_phone_is_refused(advisor_client):
    CustomerFactory(name="王芳", phone="+8613900000001")
    customer = CustomerFactory(phone="+8613812345678")
    response = advisor_client.post(
        reverse("customers:edit", args=[customer.pk]), edit_data(customer_phone="13900000001")
    )
    assert response.status_code == 400
    assert "已属于客户 王芳" in response.content.decode()
    customer.refresh_from_db()
    assert customer.phone == "+8613812345678"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"customer_name": ""}, "请填写客户姓名"), ({"customer_phone": "555"}, "不是有效的手机号")],
)
def test_edit_bad_input_changes_nothing(advisor_client, overrides, message):
    customer = CustomerFactory(name="张为")
    response = advisor_client.post(
        reverse("customers:edit", args=[customer.pk]), edit_data(**overrides)
    )
    assert response.status_code == 400 and message in response.content.decode()
    customer.refresh_from_db()
    assert customer.name == "张为" and customer.history.count() == 1


def test_a_new_phone_in_history_stays_masked(advisor_client):
    customer = CustomerFactory(phone="+8613812345678")
    advisor_client.post(
        reverse("customers:edit", args=[customer.pk]), edit_data(customer_phone="13700001111")
    )
    page = advisor_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "13700001111" not in page and "137****1111" in page


def test_consent_change_is_timestamped(advisor_client):
    customer = CustomerFactory()
    advisor_client.post(
        reverse("customers:edit", args=[customer.pk]), edit_data(marketing_consent="on")
    )
    customer.refresh_from_db()
    assert customer.marketing_consent and customer.marketing_consent_at is not None
    assert customer.marketing_consent_source == "desk"
