"""WeChat as a real channel (issue 18): the Official Account's template messages and the
OAuth binding, against a fake WeChat server (tests/messaging/fake_wechat.py) — the token
cached across processes and renewed once when WeChat calls it expired, the fallback to SMS
for a customer WeChat cannot reach, the channel that delivered each message, and the binding
from the status page and the survey page, with forged and replayed states refused."""

import threading
import time
import urllib.parse
import uuid
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.urls import reverse

from customers.contact import Purpose, message_channel_for
from customers.models import Customer
from messaging import services, wechat
from messaging.backends import LocmemBackend, SendError
from messaging.models import Message
from tests.factories import CustomerFactory, VisitFactory, contact_all_day
from tests.messaging.fake_wechat import start_fake_wechat
from visits import status

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

OPENID = "o6_bmjrPTlm6_2sgVt7hMZOPfL2M"
WECHAT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI"
)
PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 Safari/604.1"


@pytest.fixture
def fake(settings):
    fake, server = start_fake_wechat()
    settings.WECHAT_API_BASE = fake.url
    settings.WECHAT_AUTHORIZE_URL = "https://open.weixin.qq.com/connect/oauth2/authorize"
    settings.MESSAGING_BACKENDS = {
        **settings.MESSAGING_BACKENDS,
        "wechat": "messaging.wechat.WeChatTemplateBackend",
    }
    settings.WECHAT_TEMPLATES = {"maintenance_reminder": "TPL-REMIND"}
    contact_all_day()
    cache.clear()
    LocmemBackend.outbox.clear()
    yield fake
    server.shutdown()
    server.server_close()
    LocmemBackend.outbox.clear()
    cache.clear()


def wechat_customer(**fields):
    defaults = {"marketing_consent": True, "preferred_channel": "wechat", "wechat_openid": OPENID}
    return CustomerFactory(**{**defaults, **fields})


def queue_reminder(customer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message, _created = services.message_enqueue(
            purpose=Message.Purpose.MAINTENANCE_REMINDER,
            contact_purpose=Purpose.MARKETING,
            customer=customer,
            object_key=f"vehicle:{customer.pk}:2026-12-01",
            body="您的爱车该保养了",
            channel=message_channel_for(customer),
            template_code="SMS_123",
            params={"plate": "粤B12345", "date": "12-01"},
        )
    return message


# ---------------------------------------------------------------- the sender


def test_a_wechat_message_goes_by_wechat_and_records_it(fake, django_capture_on_commit_callbacks):
    message = queue_reminder(wechat_customer(), django_capture_on_commit_callbacks)
    assert message.channel == "wechat" and message.recipient == OPENID
    assert services.message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert (message.delivered_channel, message.provider_message_id) == ("wechat", "200228332")
    assert LocmemBackend.outbox == []  # no SMS
    [token] = fake.calls("/cgi-bin/token")
    assert token.query == {
        "grant_type": "client_credential",
        "appid": "wx-test-app",
        "secret": "test-secret",
    }
    [sent] = fake.calls("/cgi-bin/message/template/send")
    assert sent.method == "POST" and sent.query == {"access_token": "TOKEN1"}
    assert sent.body["touser"] == OPENID and sent.body["template_id"] == "TPL-REMIND"
    assert sent.body["data"]["first"] == {"value": "您的爱车该保养了"}
    assert sent.body["data"]["plate"] == {"value": "粤B12345"} and "url" not in sent.body


def test_the_token_is_fetched_once_and_reused(fake, django_capture_on_commit_callbacks):
    for _ in range(3):
        message = queue_reminder(wechat_customer(), django_capture_on_commit_callbacks)
        assert services.message_send(message_id=message.pk) == "sent"
    assert len(fake.calls("/cgi-bin/token")) == 1
    sends = fake.calls("/cgi-bin/message/template/send")
    assert [s.query["access_token"] for s in sends] == ["TOKEN1"] * 3


@pytest.mark.redis
def test_two_processes_share_one_token_fetch(fake, settings):
    """Two senders with their own Redis clients (two worker processes) asking at the same
    moment: one fetch (the lock), both use its token, kept a bit less than expires_in."""
    from shopcrm.cache import RedisCache

    prefix = f"test-wechat-{uuid.uuid4().hex}"
    caches = [RedisCache(settings.REDIS_URL, {"KEY_PREFIX": prefix}) for _ in range(2)]
    fake.delays["/cgi-bin/token"] = 0.3  # both ask while the first fetch is in flight
    senders = [wechat.WeChatTemplateBackend(cache=c) for c in caches]
    message = SimpleNamespace(
        purpose="maintenance_reminder", recipient=OPENID, body="保养提醒", params={}
    )
    results, errors = [], []

    def send(sender):
        try:
            results.append(sender.send(message))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    try:
        assert errors == [] and results == ["200228332", "200228332"]
        assert len(fake.calls("/cgi-bin/token")) == 1
        sends = fake.calls("/cgi-bin/message/template/send")
        assert [s.query["access_token"] for s in sends] == ["TOKEN1", "TOKEN1"]
        ttl = (
            caches[0]._cache.get_client().ttl(caches[0].make_key("wechat:access-token:wx-test-app"))
        )
        assert 7200 - wechat.TOKEN_MARGIN - 5 <= ttl <= 7200 - wechat.TOKEN_MARGIN
    finally:
        caches[0].delete("wechat:access-token:wx-test-app")


def test_without_the_shared_cache_the_send_waits_for_a_retry(fake, monkeypatch):
    """Redis down: no token fetched per message (each fetch would void the other
    processes' token), no 15 s wait for a lock nobody holds: a retryable error at once."""
    from shopcrm import cache as shop_cache

    class DownCache:
        def get(self, key, default=None):
            return default

        def add(self, *args, **kwargs):
            return False

    monkeypatch.setattr(shop_cache.redis_down, "until", time.monotonic() + 60)
    started = time.monotonic()
    with pytest.raises(SendError) as failed:
        wechat.WeChatTemplateBackend(cache=DownCache()).send(
            SimpleNamespace(purpose="maintenance_reminder", recipient=OPENID, body="", params={})
        )
    assert not failed.value.permanent and "Redis" in str(failed.value)
    assert time.monotonic() - started < 2 and fake.requests == []


@pytest.mark.parametrize("code", [40001, 40014, 42001])
def test_an_expired_token_is_renewed_once(fake, code, django_capture_on_commit_callbacks):
    fake.script["/cgi-bin/message/template/send"] = [{"errcode": code, "errmsg": "expired"}]
    message = queue_reminder(wechat_customer(), django_capture_on_commit_callbacks)
    assert services.message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.delivered_channel == "wechat"
    assert len(fake.calls("/cgi-bin/token")) == 2
    sends = fake.calls("/cgi-bin/message/template/send")
    assert [s.query["access_token"] for s in sends] == ["TOKEN1", "TOKEN2"]


def test_a_token_refused_twice_is_retried_later_not_looped(
    fake, django_capture_on_commit_callbacks
):
    fake.script["/cgi-bin/message/template/send"] = [{"errcode": 40001}, {"errcode": 40001}]
    message = queue_reminder(wechat_customer(), django_capture_on_commit_callbacks)
    assert services.message_send(message_id=message.pk) == Message.Status.FAILED
    message.refresh_from_db()
    assert message.status == "failed" and "40001" in message.last_error
    assert len(fake.calls("/cgi-bin/token")) == 2  # renewed once, not more
    assert len(fake.calls("/cgi-bin/message/template/send")) == 2
    assert LocmemBackend.outbox == []  # not the last try: WeChat again later, no SMS yet


@pytest.mark.parametrize("code", [43004, 43101, 40003])
def test_a_customer_wechat_cannot_reach_gets_the_sms(
    fake, code, django_capture_on_commit_callbacks
):
    fake.script["/cgi-bin/message/template/send"] = [{"errcode": code, "errmsg": "refused"}]
    message = queue_reminder(wechat_customer(), django_capture_on_commit_callbacks)
    assert services.message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert (message.status, message.channel, message.delivered_channel) == ("sent", "wechat", "sms")
    assert str(code) in message.last_error
    [sms] = LocmemBackend.outbox
    assert (sms.channel, sms.template_code) == ("sms", "SMS_123")
    assert sms.recipient == message.customer.phone and sms.recipient.startswith("+86")
    assert len(fake.calls("/cgi-bin/message/template/send")) == 1  # no retry on WeChat


def test_a_busy_wechat_is_retried_and_the_last_try_goes_by_sms(
    fake, django_capture_on_commit_callbacks
):
    fake.script["/cgi-bin/message/template/send"] = [{"errcode": -1}, {"errcode": -1}]
    message = queue_reminder(wechat_customer(), django_capture_on_commit_callbacks)
    assert services.message_send(message_id=message.pk) == "failed"
    assert LocmemBackend.outbox == []
    Message.objects.filter(pk=message.pk).update(
        attempts=services.MAX_ATTEMPTS - 1, next_attempt_at=message.created_at
    )
    assert services.message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.delivered_channel == "sms" and len(LocmemBackend.outbox) == 1


def test_the_sms_fallback_asks_the_contact_rules_again(
    fake, monkeypatch, django_capture_on_commit_callbacks
):
    """The customer said "do not contact" while WeChat was being asked: no SMS."""
    customer = wechat_customer()
    message = queue_reminder(customer, django_capture_on_commit_callbacks)

    def refused_meanwhile(self, message):
        Customer.objects.filter(pk=customer.pk).update(do_not_contact=True)
        raise wechat.WeChatRefused("WeChat 43004: require subscribe")

    monkeypatch.setattr(wechat.WeChatTemplateBackend, "send", refused_meanwhile)
    assert services.message_send(message_id=message.pk) == "cancelled"
    message.refresh_from_db()
    assert message.status == "cancelled" and "do not contact" in message.last_error
    assert message.delivered_channel == "" and LocmemBackend.outbox == []


def test_the_sms_fallback_without_a_mobile_gives_up(fake, django_capture_on_commit_callbacks):
    customer = wechat_customer()
    message = queue_reminder(customer, django_capture_on_commit_callbacks)
    Customer.objects.filter(pk=customer.pk).update(phone="")
    fake.script["/cgi-bin/message/template/send"] = [{"errcode": 43004}]
    assert services.message_send(message_id=message.pk) == "gave_up"
    message.refresh_from_db()
    assert "no mobile number" in message.last_error and LocmemBackend.outbox == []


def test_a_purpose_without_a_wechat_template_goes_by_sms(
    fake, settings, django_capture_on_commit_callbacks
):
    settings.WECHAT_TEMPLATES = {}
    message = queue_reminder(wechat_customer(), django_capture_on_commit_callbacks)
    assert services.message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.delivered_channel == "sms" and "no WeChat template" in message.last_error
    assert fake.requests == []


def test_without_an_openid_the_message_is_queued_as_sms(fake, django_capture_on_commit_callbacks):
    message = queue_reminder(wechat_customer(wechat_openid=""), django_capture_on_commit_callbacks)
    assert message.channel == "sms"
    assert services.message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.delivered_channel == "sms" and fake.requests == []


def test_an_sms_message_records_sms(django_capture_on_commit_callbacks):
    contact_all_day()
    message = queue_reminder(
        CustomerFactory(marketing_consent=True), django_capture_on_commit_callbacks
    )
    assert services.message_send(message_id=message.pk) == "sent"
    message.refresh_from_db()
    assert message.delivered_channel == "sms"


def test_unconfigured_wechat_is_never_used(fake, settings, client):
    settings.WECHAT_APP_ID = ""
    customer = wechat_customer()
    assert message_channel_for(customer) == "sms"
    with pytest.raises(SendError) as refused:
        wechat.WeChatTemplateBackend().send(
            SimpleNamespace(purpose="maintenance_reminder", recipient=OPENID, body="", params={})
        )
    assert refused.value.permanent and fake.requests == []
    visit = VisitFactory(vehicle__owner=wechat_customer(wechat_openid=""))
    page = client.get(path_of(status.status_link_create(visit=visit)), HTTP_USER_AGENT=WECHAT_UA)
    assert page.status_code == 200 and "wechat-bind" not in page.content.decode()
    assert client.get(reverse("messaging:wechat_bind")).status_code == 404
    assert client.get(reverse("messaging:wechat_callback")).status_code == 404


def test_the_api_lists_the_delivered_channel(fake, django_capture_on_commit_callbacks):
    from rest_framework.test import APIClient

    from tests.factories import UserFactory, api_key

    fake.script["/cgi-bin/message/template/send"] = [{"errcode": 43004}]
    message = queue_reminder(wechat_customer(), django_capture_on_commit_callbacks)
    services.message_send(message_id=message.pk)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_key(UserFactory(role='dms_client'))}")
    row = api.get(f"/api/v1/messages/{message.pk}/").json()
    assert (row["channel"], row["delivered_channel"]) == ("wechat", "sms")


# ---------------------------------------------------------------- the binding


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def bind_link(html: str) -> str:
    marker = 'id="wechat-bind-link"'
    assert marker in html
    start = html.index('href="', html.index('<a href="', html.index('id="wechat-bind"'))) + 6
    return html[start : html.index('"', start)].replace("&amp;", "&")


def through_wechat(client, fake, page_path: str, *, code="CODE1", openid=OPENID):
    """Open the page inside WeChat, follow the offer to WeChat's authorization, and come
    back to the callback the way WeChat does. Returns (callback response, state)."""
    page = client.get(page_path, HTTP_USER_AGENT=WECHAT_UA)
    assert page.status_code == 200
    html = page.content.decode()
    assert "绑定微信" in html
    start = client.get(bind_link(html), HTTP_USER_AGENT=WECHAT_UA)
    assert start.status_code == 302
    authorize = urllib.parse.urlsplit(start["Location"])
    assert authorize.fragment == "wechat_redirect"
    assert f"{authorize.scheme}://{authorize.netloc}{authorize.path}" == (
        "https://open.weixin.qq.com/connect/oauth2/authorize"
    )
    query = dict(urllib.parse.parse_qsl(authorize.query))
    assert query["appid"] == "wx-test-app" and query["scope"] == "snsapi_base"
    assert query["response_type"] == "code"
    state = query["state"]
    assert state.isalnum() and len(state) <= 128  # WeChat's rule for state
    fake.openids[code] = openid
    redirect_uri = urllib.parse.urlsplit(query["redirect_uri"])
    back = client.get(f"{redirect_uri.path}?code={code}&state={state}", HTTP_USER_AGENT=WECHAT_UA)
    return back, state


def test_binding_from_the_status_page(client, fake):
    customer = wechat_customer(wechat_openid="")
    visit = VisitFactory(vehicle__owner=customer)
    page_path = path_of(status.status_link_create(visit=visit))
    back, _state = through_wechat(client, fake, page_path)
    assert back.status_code == 200 and "微信绑定成功" in back.content.decode()
    assert page_path in back.content.decode()  # the way back to the page
    customer.refresh_from_db()
    assert customer.wechat_openid == OPENID and customer.wechat_bound_source == "status_page"
    assert customer.wechat_bound_at is not None
    [exchange] = fake.calls("/sns/oauth2/access_token")
    assert exchange.query == {
        "appid": "wx-test-app",
        "secret": "test-secret",
        "code": "CODE1",
        "grant_type": "authorization_code",
    }
    assert customer.history.first().history_change_reason == "wechat binding (status_page)"
    # Bound: the page offers nothing any more, and the next message goes by WeChat.
    again = client.get(page_path, HTTP_USER_AGENT=WECHAT_UA).content.decode()
    assert "wechat-bind" not in again
    assert message_channel_for(customer) == "wechat"


def test_binding_from_the_survey_page(client, fake):
    from surveys import services as survey_services
    from tests.surveys.conftest import make_delivered_visit, received_link

    visit = make_delivered_visit(hours_ago=30)
    survey_services.invitation_create_for_visit(visit_id=visit.pk)
    survey_services.invitation_sweep_due()
    back, _state = through_wechat(client, fake, path_of(received_link()), openid="oSURVEY123")
    assert back.status_code == 200
    customer = Customer.objects.get(pk=visit.customer_id)
    assert (customer.wechat_openid, customer.wechat_bound_source) == ("oSURVEY123", "survey")


def test_binding_from_the_booking_page(client, fake):
    """The online booking's manage page (after booking, and from the confirmation's link)
    offers it too, recorded with source "booking"."""
    from onlinebooking.services import manage_link_create
    from tests.factories import AppointmentFactory

    customer = wechat_customer(wechat_openid="")
    appointment = AppointmentFactory(customer=customer, vehicle__owner=customer)
    page_path = path_of(manage_link_create(appointment=appointment))
    back, _state = through_wechat(client, fake, page_path, openid="oBOOKING1")
    assert back.status_code == 200 and page_path in back.content.decode()
    customer.refresh_from_db()
    assert (customer.wechat_openid, customer.wechat_bound_source) == ("oBOOKING1", "booking")


def test_outside_wechat_the_pages_offer_nothing(client, fake):
    visit = VisitFactory(vehicle__owner=wechat_customer(wechat_openid=""))
    html = client.get(
        path_of(status.status_link_create(visit=visit)), HTTP_USER_AGENT=PHONE_UA
    ).content.decode()
    assert "wechat-bind" not in html and "绑定微信" not in html


def test_a_replayed_state_is_refused(client, fake):
    customer = wechat_customer(wechat_openid="")
    visit = VisitFactory(vehicle__owner=customer)
    back, state = through_wechat(client, fake, path_of(status.status_link_create(visit=visit)))
    assert back.status_code == 200
    Customer.objects.filter(pk=customer.pk).update(wechat_openid="")
    client.cookies["wechat_bind"] = state[:32]  # even with the cookie put back
    fake.openids["CODE2"] = "oATTACKER"
    replay = client.get(f"{reverse('messaging:wechat_callback')}?code=CODE2&state={state}")
    assert replay.status_code == 400 and "绑定链接无效或已过期" in replay.content.decode()
    customer.refresh_from_db()
    assert customer.wechat_openid == ""
    assert len(fake.calls("/sns/oauth2/access_token")) == 1  # the replay never reached WeChat


@pytest.mark.parametrize(
    "state",
    [
        "",
        "x" * 56,
        "0123456789abcdef0123456789abcdef" + "0" * 24,  # a nonce with a made-up signature
        "not a state at all; drop table",
        "é" * 56,  # not ASCII: compare_digest would raise on it
    ],
)
def test_a_forged_state_is_refused(client, fake, state):
    customer = wechat_customer(wechat_openid="")
    client.cookies["wechat_bind"] = state[:32]
    fake.openids["CODE1"] = OPENID
    response = client.get(reverse("messaging:wechat_callback"), {"code": "CODE1", "state": state})
    assert response.status_code == 400 and "绑定链接无效或已过期" in response.content.decode()
    customer.refresh_from_db()
    assert customer.wechat_openid == "" and fake.calls("/sns/oauth2/access_token") == []


def test_a_state_from_another_browser_is_refused(client, fake):
    """A bind link started on one phone and its callback opened on another."""
    from django.test import Client

    customer = wechat_customer(wechat_openid="")
    visit = VisitFactory(vehicle__owner=customer)
    html = client.get(
        path_of(status.status_link_create(visit=visit)), HTTP_USER_AGENT=WECHAT_UA
    ).content.decode()
    start = client.get(bind_link(html))
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start["Location"]).query))["state"]
    fake.openids["CODE1"] = "oOTHER"
    other = Client().get(f"{reverse('messaging:wechat_callback')}?code=CODE1&state={state}")
    assert other.status_code == 400
    customer.refresh_from_db()
    assert customer.wechat_openid == ""


def test_a_forged_offer_is_refused(client, fake):
    customer = wechat_customer(wechat_openid="")
    response = client.get(reverse("messaging:wechat_bind"), {"offer": f"{customer.pk}:status_page"})
    assert response.status_code == 400 and "绑定链接无效或已过期" in response.content.decode()
    assert "Location" not in response


def test_a_code_wechat_rejects_binds_nothing(client, fake):
    customer = wechat_customer(wechat_openid="")
    visit = VisitFactory(vehicle__owner=customer)
    html = client.get(
        path_of(status.status_link_create(visit=visit)), HTTP_USER_AGENT=WECHAT_UA
    ).content.decode()
    start = client.get(bind_link(html))
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start["Location"]).query))["state"]
    response = client.get(f"{reverse('messaging:wechat_callback')}?code=BADCODE&state={state}")
    assert response.status_code == 502 and "暂时无法绑定微信" in response.content.decode()
    customer.refresh_from_db()
    assert customer.wechat_openid == "" and customer.wechat_bound_at is None
