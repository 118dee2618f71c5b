"""Senders, one chosen per channel in settings (MESSAGING_BACKENDS).

console and file for development, locmem for tests, and Aliyun SMS / Tencent Cloud SMS
written against their documented HTTPS APIs (Aliyun RPC signature v1 with HMAC-SHA1;
Tencent Cloud API 3.0 with TC3-HMAC-SHA256), credentials from environment variables.
A backend returns the provider's message id or raises SendError.
"""

import base64
import hashlib
import hmac
import json
import logging
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("shopcrm.messaging")


class SendError(Exception):
    """The provider refused or could not be reached; ``permanent`` means do not retry."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def backend_for(channel: str):
    return import_string(settings.MESSAGING_BACKENDS[channel])()


def _national(phone: str) -> str:
    return phone[3:] if phone.startswith("+86") else phone


class ConsoleBackend:
    def send(self, message) -> str:
        logger.info("[%s] to %s: %s", message.channel, message.recipient, message.body)
        return f"console-{message.pk}"


class FileBackend:
    """Appends one JSON line per message to var/messages.jsonl."""

    def send(self, message) -> str:
        path = Path(settings.DATA_DIR) / "messages.jsonl"
        line = {
            "id": message.pk,
            "channel": message.channel,
            "to": message.recipient,
            "body": message.body,
        }
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False) + "\n")
        return f"file-{message.pk}"


class LocmemBackend:
    """Keeps what was sent in ``LocmemBackend.outbox`` (tests)."""

    outbox: list = []
    fail_next: list = []  # tests push SendError instances to make the next sends fail

    def send(self, message) -> str:
        if LocmemBackend.fail_next:
            raise LocmemBackend.fail_next.pop(0)
        LocmemBackend.outbox.append(message)
        return f"locmem-{message.pk}"


def _post(url: str, data: bytes | None, headers: dict, timeout: float = 10) -> dict:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            return json.loads(exc.read())
        except ValueError:
            raise SendError(f"HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, ValueError) as exc:
        raise SendError(str(exc)) from exc


class AliyunSmsBackend:
    """Aliyun Dysmsapi SendSms (RPC style). Env: ALIYUN_ACCESS_KEY_ID, ALIYUN_ACCESS_KEY_SECRET,
    ALIYUN_SMS_SIGN_NAME; the message's template_code is the SMS template (SMS_…)."""

    endpoint = os.environ.get("ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/")

    def __init__(self):
        self.key_id = os.environ.get("ALIYUN_ACCESS_KEY_ID", "")
        self.secret = os.environ.get("ALIYUN_ACCESS_KEY_SECRET", "")
        self.sign_name = os.environ.get("ALIYUN_SMS_SIGN_NAME", "")

    @staticmethod
    def _encode(value: str) -> str:
        return urllib.parse.quote(str(value), safe="-_.~")

    def signed_params(self, message, *, timestamp: str, nonce: str) -> dict:
        params = {
            "AccessKeyId": self.key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "PhoneNumbers": _national(message.recipient),
            "RegionId": "cn-hangzhou",
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": nonce,
            "SignatureVersion": "1.0",
            "TemplateCode": message.template_code,
            "TemplateParam": json.dumps(message.params, ensure_ascii=False, separators=(",", ":")),
            "Timestamp": timestamp,
            "Version": "2017-05-25",
        }
        canonical = "&".join(
            f"{self._encode(k)}={self._encode(v)}" for k, v in sorted(params.items())
        )
        to_sign = f"POST&{self._encode('/')}&{self._encode(canonical)}"
        digest = hmac.new(f"{self.secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
        params["Signature"] = base64.b64encode(digest).decode()
        return params

    def send(self, message) -> str:
        if not (self.key_id and self.secret and self.sign_name):
            raise SendError("Aliyun SMS credentials are not configured", permanent=True)
        params = self.signed_params(
            message,
            timestamp=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            nonce=uuid.uuid4().hex,
        )
        answer = _post(
            self.endpoint,
            urllib.parse.urlencode(params).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
        if answer.get("Code") != "OK":
            permanent = answer.get("Code", "").startswith(
                ("isv.MOBILE", "isv.TEMPLATE", "isv.SMS_SIGNATURE")
            )
            raise SendError(f"{answer.get('Code')}: {answer.get('Message')}", permanent=permanent)
        return answer.get("BizId", "")


class TencentSmsBackend:
    """Tencent Cloud SMS SendSms (API 3.0, TC3-HMAC-SHA256). Env: TENCENT_SECRET_ID,
    TENCENT_SECRET_KEY, TENCENT_SMS_APP_ID, TENCENT_SMS_SIGN_NAME; template_code is the
    template id and params' values, in order, its parameters."""

    host = os.environ.get("TENCENT_SMS_HOST", "sms.tencentcloudapi.com")
    scheme = os.environ.get("TENCENT_SMS_SCHEME", "https")

    def __init__(self):
        self.secret_id = os.environ.get("TENCENT_SECRET_ID", "")
        self.secret_key = os.environ.get("TENCENT_SECRET_KEY", "")
        self.app_id = os.environ.get("TENCENT_SMS_APP_ID", "")
        self.sign_name = os.environ.get("TENCENT_SMS_SIGN_NAME", "")

    def signed_request(self, message, *, timestamp: int) -> tuple[bytes, dict]:
        body = json.dumps(
            {
                "PhoneNumberSet": [message.recipient],
                "SmsSdkAppId": self.app_id,
                "SignName": self.sign_name,
                "TemplateId": message.template_code,
                "TemplateParamSet": [str(v) for v in message.params.values()],
            },
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        host = self.host.split(":")[0] if self.scheme == "https" else self.host
        day = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
        canonical = "\n".join(
            [
                "POST",
                "/",
                "",
                f"content-type:application/json; charset=utf-8\nhost:{host}\n",
                "content-type;host",
                hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{day}/sms/tc3_request"
        hashed_request = hashlib.sha256(canonical.encode()).hexdigest()
        to_sign = f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n{hashed_request}"

        def _hmac(key: bytes, text: str) -> bytes:
            return hmac.new(key, text.encode(), hashlib.sha256).digest()

        key = _hmac(_hmac(_hmac(f"TC3{self.secret_key}".encode(), day), "sms"), "tc3_request")
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers = {
            "Authorization": (
                f"TC3-HMAC-SHA256 Credential={self.secret_id}/{scope}, "
                f"SignedHeaders=content-type;host, Signature={signature}"
            ),
            "Content-Type": "application/json; charset=utf-8",
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": "2021-01-11",
            "X-TC-Region": os.environ.get("TENCENT_SMS_REGION", "ap-guangzhou"),
        }
        return body, headers

    def send(self, message) -> str:
        if not (self.secret_id and self.secret_key and self.app_id and self.sign_name):
            raise SendError("Tencent Cloud SMS credentials are not configured", permanent=True)
        body, headers = self.signed_request(message, timestamp=int(datetime.now(UTC).timestamp()))
        answer = _post(f"{self.scheme}://{self.host}/", body, headers).get("Response", {})
        if "Error" in answer:
            raise SendError(f"{answer['Error'].get('Code')}: {answer['Error'].get('Message')}")
        statuses = answer.get("SendStatusSet") or [{}]
        if statuses[0].get("Code") != "Ok":
            code = statuses[0].get("Code", "")
            raise SendError(
                f"{code}: {statuses[0].get('Message')}", permanent="InvalidParameter" in code
            )
        return statuses[0].get("SerialNo", "")
