"""Customers' SMS replies pushed by Aliyun and Tencent Cloud (issue 18, "Replies that
unsubscribe"): the shared secret, the documented shapes and answers, commands acted on through
the customers' services, duplicates recorded once, the rest listed for a person."""

import json
from datetime import UTC, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.contact import Purpose
from followups.models import FollowUpTask
from messaging import replies, services
from messaging.models import Message, SmsReply
from tests.factories import CustomerFactory, UserFactory
from tests.followups.test_services import due_task

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ALIYUN_TOKEN = "aliyun-secret-0123456789"
TENCENT_TOKEN = "tencent-secret-0123456789"
PHONE = "+8613812345678"


@pytest.fixture(autouse=True)
def reply_tokens(settings):
    settings.SMS_REPLY_TOKENS = {"aliyun": ALIYUN_TOKEN, "tencent": TENCENT_TOKEN}


def aliyun_url(token=ALIYUN_TOKEN):
    return reverse("messaging:aliyun_reply", args=[token])


def tencent_url(token=TENCENT_TOKEN):
    return reverse("messaging:tencent_reply", args=[token])


def aliyun_item(content="TD", phone="13812345678", sequence_id=1234567890):
    return {
        "phone_number": phone,
        "send_time": "2026-11-29 10:15:00",
        "content": content,
        "sign_name": "示例4S店",
        "dest_code": "1234",
        "sequence_id": sequence_id,
    }


def tencent_body(text="TD", mobile="13812345678", time=1795000000):
    return {
        "extend": "",
        "mobile": mobile,
        "nationcode": "86",
        "sign": "示例4S店",
        "text": text,
        "time": time,
    }


def post_json(client, url, payload):
    body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
    return client.post(url, data=body, content_type="application/json")


def queued_marketing(customer, key="vehicle:1:2026-12-01"):
    message, _created = services.message_enqueue(
        purpose=Message.Purpose.MAINTENANCE_REMINDER,
        contact_purpose=Purpose.MARKETING,
        customer=customer,
        object_key=key,
        body="保养提醒",
    )
    return message


def queued_service(customer):
    message, _created = services.message_enqueue(
        purpose=Message.Purpose.SERVICE_READY,
        contact_purpose=Purpose.SERVICE,
        customer=customer,
        object_key="visit:1:1",
        body="可以取车",
    )
    return message


def consenting_customer():
    return CustomerFactory(phone=PHONE, marketing_consent=True, marketing_consent_source="desk")


# ---------------------------------------------------------------- the good pushes


def test_an_aliyun_td_withdraws_consent_and_cancels_queued_marketing(
    client, django_capture_on_commit_callbacks
):
    customer = consenting_customer()
    with django_capture_on_commit_callbacks(execute=False):
        marketing, service = queued_marketing(customer), queued_service(customer)
    answer = post_json(client, aliyun_url(), [aliyun_item("TD")])
    assert answer.status_code == 200
    assert answer.json() == {"code": 0, "msg": "成功"}
    customer.refresh_from_db()
    assert not customer.marketing_consent and not customer.do_not_contact
    assert customer.marketing_consent_source == "sms reply"
    assert customer.marketing_consent_at is not None
    marketing.refresh_from_db()
    service.refresh_from_db()
    assert marketing.status == Message.Status.CANCELLED
    assert service.status == Message.Status.QUEUED  # a car in the shop is still told
    reply = SmsReply.objects.get()
    assert (reply.provider, reply.phone, reply.text, reply.customer) == (
        "aliyun",
        PHONE,
        "TD",
        customer,
    )
    assert reply.interpretation == "unsubscribe" and reply.action == "consent_withdrawn"
    assert reply.handled_at is not None and reply.handled_by is None
    assert timezone.localtime(reply.received_at).replace(tzinfo=None) == datetime(
        2026, 11, 29, 10, 15
    )


def test_a_tencent_unsubscribe_withdraws_consent_with_the_documented_answer(
    client, django_capture_on_commit_callbacks
):
    customer = consenting_customer()
    with django_capture_on_commit_callbacks(execute=False):
        marketing = queued_marketing(customer)
    answer = post_json(client, tencent_url(), tencent_body("退订"))
    assert answer.status_code == 200
    assert answer.json() == {"result": 0, "errmsg": "OK"}
    customer.refresh_from_db()
    marketing.refresh_from_db()
    assert not customer.marketing_consent and marketing.status == Message.Status.CANCELLED
    reply = SmsReply.objects.get()
    assert reply.provider == "tencent" and reply.action == "consent_withdrawn"
    assert reply.received_at == datetime.fromtimestamp(1795000000, tz=UTC)


def test_full_width_td_with_spaces_is_an_unsubscribe(client):
    customer = consenting_customer()
    post_json(client, tencent_url(), tencent_body(" ＴＤ。 "))
    customer.refresh_from_db()
    assert not customer.marketing_consent
    assert SmsReply.objects.get().interpretation == "unsubscribe"


@pytest.mark.parametrize(
    ("text", "meaning"),
    [
        ("TD", "unsubscribe"),
        ("td", "unsubscribe"),
        ("Ｔ", "unsubscribe"),
        ("n", "unsubscribe"),
        ("退订", "unsubscribe"),
        (" 取消 ", "unsubscribe"),
        ("UNSUBSCRIBE", "unsubscribe"),
        ("勿扰", "do_not_contact"),
        ("别打了！", "do_not_contact"),
        ("不要再打电话了", "do_not_contact"),
        ("拒绝", "do_not_contact"),
        ("请问周六营业吗", "other"),
        ("TD谢谢", "other"),  # not exactly a command: a person reads it
        ("好的", "other"),
        ("", "other"),
        ("我上次说拒绝了那个项目，但是现在想约个时间做保养，可以吗", "other"),
    ],
)
def test_what_a_reply_means(text, meaning):
    assert replies.interpret(text) == meaning


def test_a_do_not_contact_reply_sets_dnc_and_cancels_messages_and_calls(
    client, django_capture_on_commit_callbacks
):
    task = due_task()
    customer = task.customer
    customer.marketing_consent = True
    customer.save()
    with django_capture_on_commit_callbacks(execute=False):
        marketing, service = queued_marketing(customer), queued_service(customer)
    phone = customer.phone[3:]
    answer = post_json(client, aliyun_url(), [aliyun_item("别打了", phone=phone)])
    assert answer.status_code == 200
    customer.refresh_from_db()
    assert customer.do_not_contact
    marketing.refresh_from_db()
    service.refresh_from_db()
    # The existing rule: nothing at all goes to a do-not-contact customer.
    assert marketing.status == service.status == Message.Status.CANCELLED
    assert FollowUpTask.objects.get(pk=task.pk).status == FollowUpTask.Status.CANCELLED
    reply = SmsReply.objects.get()
    assert reply.interpretation == "do_not_contact" and reply.action == "do_not_contact_set"


def test_a_command_already_in_force_changes_nothing(client):
    customer = CustomerFactory(phone=PHONE, marketing_consent=False)
    post_json(client, aliyun_url(), [aliyun_item("T")])
    reply = SmsReply.objects.get()
    assert reply.action == "already" and reply.handled_at is not None
    customer.refresh_from_db()
    assert customer.marketing_consent_source == ""  # not rewritten


def test_a_customer_record_that_refuses_the_change_leaves_the_reply_to_a_person(client):
    # Details that no longer validate (an old import): customer_update refuses; the push
    # is still answered (no endless retries) and a person gets the reply.
    customer = CustomerFactory(phone=PHONE, marketing_consent=True, email="not-an-address")
    answer = post_json(client, aliyun_url(), [aliyun_item("TD")])
    assert answer.json() == {"code": 0, "msg": "成功"}
    reply = SmsReply.objects.get()
    assert reply.handled_at is None and reply.action == "none" and reply.customer == customer


# ---------------------------------------------------------------- duplicates


def test_the_same_aliyun_push_twice_is_recorded_once(client):
    consenting_customer()
    for _ in range(2):
        answer = post_json(client, aliyun_url(), [aliyun_item("TD")])
        assert answer.json() == {"code": 0, "msg": "成功"}
    assert SmsReply.objects.count() == 1


def test_the_same_tencent_push_twice_is_recorded_once(client):
    consenting_customer()
    for _ in range(2):
        assert post_json(client, tencent_url(), tencent_body("你好")).status_code == 200
    assert SmsReply.objects.count() == 1
    # The same text at another time is another reply.
    post_json(client, tencent_url(), tencent_body("你好", time=1795000060))
    assert SmsReply.objects.count() == 2


def test_a_batch_records_each_reply_and_skips_the_ones_seen(client):
    consenting_customer()
    post_json(client, aliyun_url(), [aliyun_item("你好", sequence_id=1)])
    batch = [aliyun_item("你好", sequence_id=1), aliyun_item("在吗", sequence_id=2)]
    assert post_json(client, aliyun_url(), batch).status_code == 200
    assert sorted(SmsReply.objects.values_list("text", flat=True)) == ["你好", "在吗"]


# ---------------------------------------------------------------- for a person to read


def test_unknown_text_is_listed_for_a_person_and_marked_handled(client, manager_client):
    customer = consenting_customer()
    post_json(client, tencent_url(), tencent_body("明天上午能来保养吗"))
    customer.refresh_from_db()
    assert customer.marketing_consent  # not a command: nothing changes
    reply = SmsReply.objects.get()
    assert reply.interpretation == "other" and reply.handled_at is None
    page = manager_client.get(reverse("messaging:replies")).content.decode()
    assert "明天上午能来保养吗" in page and "138****5678" in page and PHONE not in page
    assert reverse("customers:detail", args=[customer.pk]) in page
    answer = manager_client.post(reverse("messaging:reply_handle", args=[reply.pk]))
    assert answer.status_code == 302
    reply.refresh_from_db()
    assert reply.handled_at is not None and reply.handled_by.username == "manager1"
    assert (
        "明天上午能来保养吗"
        not in manager_client.get(reverse("messaging:replies")).content.decode()
    )
    # Handled twice: a clear refusal, nothing changes.
    handled_at = reply.handled_at
    again = manager_client.post(reverse("messaging:reply_handle", args=[reply.pk]), follow=True)
    assert "已经处理过" in again.content.decode()
    reply.refresh_from_db()
    assert reply.handled_at == handled_at
    everything = manager_client.get(reverse("messaging:replies") + "?all=1").content.decode()
    assert "明天上午能来保养吗" in everything


def test_a_td_from_an_unknown_number_is_listed_and_changes_nobody(client, manager_client):
    other = consenting_customer()
    answer = post_json(client, aliyun_url(), [aliyun_item("TD", phone="13900001111")])
    assert answer.status_code == 200
    reply = SmsReply.objects.get()
    assert reply.customer is None and reply.handled_at is None and reply.action == "none"
    other.refresh_from_db()
    assert other.marketing_consent
    page = manager_client.get(reverse("messaging:replies")).content.decode()
    assert "139****1111" in page


def test_the_customer_page_shows_the_replies(client, advisor_client):
    customer = consenting_customer()
    post_json(client, aliyun_url(), [aliyun_item("TD")])
    page = advisor_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'id="customer-sms-replies"' in page and "“TD”" in page


def test_the_replies_page_is_for_who_may_handle_them(client, advisor):
    reply_url = reverse("messaging:replies")
    assert client.get(reply_url).status_code == 302  # to the login
    client.force_login(advisor)
    assert client.get(reply_url).status_code == 403
    client.force_login(UserFactory(role="manager", username="m2"))
    assert client.get(reply_url).status_code == 200


# ---------------------------------------------------------------- refused pushes


@pytest.mark.parametrize("token", ["wrong-token", ALIYUN_TOKEN[:-1], TENCENT_TOKEN])
def test_a_forged_aliyun_token_is_refused_and_writes_nothing(client, token):
    customer = consenting_customer()
    answer = post_json(client, aliyun_url(token), [aliyun_item("TD")])
    assert answer.status_code == 403
    customer.refresh_from_db()
    assert customer.marketing_consent and SmsReply.objects.count() == 0


def test_a_forged_tencent_token_is_refused_and_writes_nothing(client):
    customer = consenting_customer()
    answer = post_json(client, tencent_url("forged"), tencent_body("TD"))
    assert answer.status_code == 403
    customer.refresh_from_db()
    assert customer.marketing_consent and SmsReply.objects.count() == 0


def test_a_missing_token_is_not_an_endpoint_and_an_unset_secret_refuses_all(client, settings):
    missing = client.post("/sms/replies/aliyun/", data="[]", content_type="application/json")
    assert missing.status_code == 404
    settings.SMS_REPLY_TOKENS = {"aliyun": "", "tencent": ""}
    consenting_customer()
    # An unconfigured secret matches nothing, not even an empty-looking token.
    assert post_json(client, aliyun_url("x"), [aliyun_item("TD")]).status_code == 403
    assert SmsReply.objects.count() == 0


def test_the_callbacks_take_posts_only(client):
    assert client.get(aliyun_url()).status_code == 405
    assert client.get(tencent_url()).status_code == 405


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"{not json", "JSON"),
        ("\ufffe".encode("utf-16"), "JSON"),
        ({"phone_number": "13812345678"}, "数组"),
        (["TD"], "JSON 对象"),
        ([{**aliyun_item(), "content": None}], "content"),
        ([{k: v for k, v in aliyun_item().items() if k != "phone_number"}], "phone_number"),
        ([{k: v for k, v in aliyun_item().items() if k != "sequence_id"}], "sequence_id"),
        ([{**aliyun_item(), "send_time": "29/11/2026"}], "send_time"),
        ([{**aliyun_item(), "phone_number": "not-a-phone"}], "手机号"),
        ([{**aliyun_item(), "content": "x" * 3000}], "过长"),
        # One bad reply in a batch: the good one before it is not written either.
        ([aliyun_item("TD", sequence_id=1), {**aliyun_item(), "send_time": ""}], "send_time"),
    ],
)
def test_a_malformed_aliyun_push_gets_400_and_writes_nothing(client, payload, error):
    customer = consenting_customer()
    answer = post_json(client, aliyun_url(), payload)
    assert answer.status_code == 400
    assert error in answer.json()["error"]
    customer.refresh_from_db()
    assert customer.marketing_consent and SmsReply.objects.count() == 0


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        (b"", "JSON"),
        ([tencent_body()], "JSON 对象"),
        ({k: v for k, v in tencent_body().items() if k != "mobile"}, "mobile"),
        ({k: v for k, v in tencent_body().items() if k != "text"}, "text"),
        ({**tencent_body(), "time": "yesterday"}, "time"),
        ({**tencent_body(), "time": True}, "time"),
        ({**tencent_body(), "time": 10**20}, "time"),
        ({**tencent_body(), "nationcode": None}, "nationcode"),
    ],
)
def test_a_malformed_tencent_push_gets_400_and_writes_nothing(client, payload, error):
    customer = consenting_customer()
    answer = post_json(client, tencent_url(), payload)
    assert answer.status_code == 400
    assert error in answer.json()["error"]
    customer.refresh_from_db()
    assert customer.marketing_consent and SmsReply.objects.count() == 0
