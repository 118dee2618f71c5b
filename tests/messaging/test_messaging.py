"""The outbox and the senders: once per (purpose, recipient, object), consent, quiet hours,
bounded retries; the Aliyun and Tencent Cloud SMS backends against a local HTTP server."""

import base64
import hashlib
import hmac
import json
import threading
import urllib.parse
from datetime import UTC, datetime, time, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone

from customers.contact import Purpose
from followups import services as followup_services
from messaging import services
from messaging.backends import AliyunSmsBackend, LocmemBackend, SendError, TencentSmsBackend
from messaging.models import Message
from tests.factories import CustomerFactory, VehicleFactory, VisitFactory
from visits.models import Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
SHANGHAI = timezone.get_default_timezone()
# Tomorrow, so that a message queued "now" is already due.
TOMORROW = timezone.localdate() + timedelta(days=1)
DAYTIME = timezone.make_aware(datetime.combine(TOMORROW, time(10)), SHANGHAI)
NIGHT = timezone.make_aware(datetime.combine(TOMORROW, time(22)), SHANGHAI)


@pytest.fixture(autouse=True)
def empty_outbox():
    LocmemBackend.outbox.clear()
    LocmemBackend.fail_next.clear()
    yield
    LocmemBackend.outbox.clear()
    LocmemBackend.fail_next.clear()


def enqueue(customer, purpose="maintenance_reminder", key="vehicle:1:2026-12-01"):
    contact = Purpose.SERVICE if purpose == "service_notice" else Purpose.MARKETING
    return services.message_enqueue(
        purpose=purpose, contact_purpose=contact, customer=customer, object_key=key, body="保养提醒"
    )


def test_enqueue_once_per_purpose_recipient_and_object(django_capture_on_commit_callbacks):
    customer = CustomerFactory(marketing_consent=True)
    with django_capture_on_commit_callbacks(execute=False):
        first, created = enqueue(customer)
        again, created_again = enqueue(customer)
    assert created and not created_again and first == again
    assert Message.objects.count() == 1


def test_marketing_needs_consent_and_nobody_messages_do_not_contact():
    assert enqueue(CustomerFactory(marketing_consent=False)) == (None, False)
    assert enqueue(CustomerFactory(marketing_consent=True, do_not_contact=True)) == (None, False)
    _message, created = enqueue(CustomerFactory(marketing_consent=False), purpose="service_notice")
    assert created  # a service message needs no marketing consent


def test_send_delivers_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message, _ = enqueue(CustomerFactory(marketing_consent=True))
    assert services.message_send(message_id=message.pk, now=DAYTIME) == "sent"
    assert services.message_send(message_id=message.pk, now=DAYTIME) == "skipped"
    message.refresh_from_db()
    assert message.status == Message.Status.SENT and len(LocmemBackend.outbox) == 1


def test_quiet_hours_defer_to_the_next_calling_moment(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message, _ = enqueue(CustomerFactory(marketing_consent=True))
    assert services.message_send(message_id=message.pk, now=NIGHT) == "deferred"
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED and LocmemBackend.outbox == []
    assert timezone.localtime(message.next_attempt_at).time() == time(9, 0)


def test_failures_retry_with_backoff_then_give_up(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message, _ = enqueue(CustomerFactory(marketing_consent=True))
    now = DAYTIME
    for attempt in range(1, 6):
        LocmemBackend.fail_next.append(SendError("timeout"))
        status = services.message_send(message_id=message.pk, now=now)
        message.refresh_from_db()
        assert message.attempts == attempt
        if attempt < 5:
            assert status == Message.Status.FAILED
            assert message.next_attempt_at == now + timedelta(minutes=2**attempt)
            now = message.next_attempt_at
    assert message.status == Message.Status.GAVE_UP and LocmemBackend.outbox == []


def test_a_permanent_error_gives_up_at_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message, _ = enqueue(CustomerFactory(marketing_consent=True))
    LocmemBackend.fail_next.append(SendError("bad template", permanent=True))
    services.message_send(message_id=message.pk, now=DAYTIME)
    message.refresh_from_db()
    assert message.status == Message.Status.GAVE_UP and message.attempts == 1


@pytest.mark.parametrize("consent", [True, False])
def test_maintenance_reminders_go_out_by_sms_only_with_consent(consent):
    today = timezone.localdate()
    customer = CustomerFactory(marketing_consent=consent)
    vehicle = VehicleFactory(owner=customer, registration_date=today - timedelta(days=400))
    delivered = timezone.now() - timedelta(days=176)
    VisitFactory(
        vehicle=vehicle,
        customer=customer,
        status=Visit.Status.DELIVERED,
        odometer_km=4000,
        checked_in_at=delivered - timedelta(hours=2),
        delivered_at=delivered,
    )
    assert followup_services.reminder_create_due(today=today) == 1  # the call task either way
    assert Message.objects.filter(purpose="maintenance_reminder").count() == (1 if consent else 0)
    followup_services.reminder_create_due(today=today)
    assert Message.objects.count() == (1 if consent else 0)


# ---------------------------------------------------------------- provider backends


class Provider(BaseHTTPRequestHandler):
    answer: dict = {}
    seen: list = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        headers = {key.lower(): value for key, value in self.headers.items()}
        Provider.seen.append((headers, self.rfile.read(length)))
        body = json.dumps(Provider.answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def provider():
    server = HTTPServer(("127.0.0.1", 0), Provider)
    Provider.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def sms(**extra):
    message = Message(
        pk=7,
        channel="sms",
        recipient="+8613812345678",
        template_code="SMS_123",
        params={"plate": "粤B12345", "date": "2026-12-01"},
        body="x",
    )
    for key, value in extra.items():
        setattr(message, key, value)
    return message


def test_aliyun_request_is_signed_as_documented(provider, monkeypatch):
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_ID", "testid")
    monkeypatch.setenv("ALIYUN_ACCESS_KEY_SECRET", "testsecret")
    monkeypatch.setenv("ALIYUN_SMS_SIGN_NAME", "示例4S店")
    backend = AliyunSmsBackend()
    backend.endpoint = f"http://{provider}/"
    Provider.answer = {"Code": "OK", "BizId": "900619746936498440^0"}
    assert backend.send(sms()) == "900619746936498440^0"
    _headers, raw = Provider.seen[0]
    params = dict(urllib.parse.parse_qsl(raw.decode()))
    assert params["PhoneNumbers"] == "13812345678" and params["TemplateCode"] == "SMS_123"
    assert json.loads(params["TemplateParam"]) == {"plate": "粤B12345", "date": "2026-12-01"}
    # Verify the signature the way Aliyun's documentation describes it.
    signature = params.pop("Signature")

    def enc(value):
        return urllib.parse.quote(value, safe="-_.~")

    query = "&".join(f"{enc(k)}={enc(v)}" for k, v in sorted(params.items()))
    expected = base64.b64encode(
        hmac.new(b"testsecret&", f"POST&%2F&{enc(query)}".encode(), hashlib.sha1).digest()
    ).decode()
    assert signature == expected


def test_aliyun_errors_are_retried_or_final(provider, monkeypatch):
    for name in ("ALIYUN_ACCESS_KEY_ID", "ALIYUN_ACCESS_KEY_SECRET", "ALIYUN_SMS_SIGN_NAME"):
        monkeypatch.setenv(name, "x")
    backend = AliyunSmsBackend()
    backend.endpoint = f"http://{provider}/"
    Provider.answer = {"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "flow control"}
    with pytest.raises(SendError) as info:
        backend.send(sms())
    assert not info.value.permanent
    Provider.answer = {"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "bad number"}
    with pytest.raises(SendError) as info:
        backend.send(sms())
    assert info.value.permanent


def test_missing_credentials_are_a_permanent_error(monkeypatch):
    for name in ("ALIYUN_ACCESS_KEY_ID", "TENCENT_SECRET_ID"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(SendError) as info:
        AliyunSmsBackend().send(sms())
    assert info.value.permanent
    with pytest.raises(SendError):
        TencentSmsBackend().send(sms())


def test_tencent_request_is_signed_with_tc3(provider, monkeypatch):
    monkeypatch.setenv("TENCENT_SECRET_ID", "AKIDtest")
    monkeypatch.setenv("TENCENT_SECRET_KEY", "secretkey")
    monkeypatch.setenv("TENCENT_SMS_APP_ID", "1400000000")
    monkeypatch.setenv("TENCENT_SMS_SIGN_NAME", "示例4S店")
    backend = TencentSmsBackend()
    backend.scheme, backend.host = "http", provider
    Provider.answer = {
        "Response": {"SendStatusSet": [{"Code": "Ok", "SerialNo": "2028:abc"}], "RequestId": "r1"}
    }
    assert backend.send(sms()) == "2028:abc"
    headers, raw = Provider.seen[0]
    body = json.loads(raw)
    assert body["PhoneNumberSet"] == ["+8613812345678"] and body["TemplateParamSet"] == [
        "粤B12345",
        "2026-12-01",
    ]
    assert headers["x-tc-action"] == "SendSms" and headers["x-tc-version"] == "2021-01-11"
    # Recompute TC3-HMAC-SHA256 from the documented steps.
    timestamp = int(headers["x-tc-timestamp"])
    day = datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%d")
    canonical = (
        f"POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:{headers['host']}\n\n"
        f"content-type;host\n{hashlib.sha256(raw).hexdigest()}"
    )
    to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{day}/sms/tc3_request\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = b"TC3secretkey"
    for part in (day, "sms", "tc3_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    assert headers["authorization"].endswith(f"Signature={expected}")
    assert f"Credential=AKIDtest/{day}/sms/tc3_request" in headers["authorization"]
    Provider.answer = {"Response": {"Error": {"Code": "LimitExceeded", "Message": "too many"}}}
    with pytest.raises(SendError):
        backend.send(sms())


def test_consent_withdrawn_after_queueing_stops_the_message(django_capture_on_commit_callbacks):
    """The contact rules are asked again at the moment of sending, consent included (before,
    only do-not-contact was checked again, and a reminder queued with consent went out after
    the customer withdrew it)."""
    customer = CustomerFactory(marketing_consent=True)
    with django_capture_on_commit_callbacks(execute=False):
        message, _ = enqueue(customer)
    customer.marketing_consent = False
    customer.save()
    assert services.message_send(message_id=message.pk, now=DAYTIME) == "cancelled"
    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED and message.last_error == "no consent"
    assert LocmemBackend.outbox == []


def test_a_service_message_needs_no_consent_at_sending_either(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message, _ = enqueue(CustomerFactory(), purpose="service_notice")
    assert message.contact_purpose == Purpose.SERVICE
    assert services.message_send(message_id=message.pk, now=DAYTIME) == "sent"
