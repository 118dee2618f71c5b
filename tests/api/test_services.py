"""api.services.sync_batch_submit: a sync batch under its Idempotency-Key (the first answer
comes back to a retry, another body with the key is refused, a concurrent twin replays)."""

import json
import threading

import pytest
from django.db import connection

from api.models import IdempotencyRecord
from api.services import SyncAnswer, sync_batch_submit
from shopcrm.sync import BatchRejected, SyncResult
from tests.factories import UserFactory

pytestmark = [pytest.mark.postgres]

BODY = json.dumps([{"external_id": "C1"}]).encode()


class FakeSync:
    """Stands in for customers_sync & co.: counts its calls, answers what it is told."""

    def __init__(self, created=1, error=None):
        self.calls, self.created, self.error = 0, created, error

    def __call__(self, *, payload, by):
        self.calls += 1
        if self.error:
            raise self.error
        return SyncResult(created=self.created)


def submit(client, sync, body=BODY, key="batch-1"):
    return sync_batch_submit(
        client=client, endpoint="customers", body=body, idempotency_key=key, sync=sync
    )


@pytest.fixture
def dms_client(db):
    return UserFactory(role="dms_client", username="dms-services")


def answer(created):
    return {"created": created, "updated": 0, "unchanged": 0, "failed": 0, "errors": []}


def test_a_retry_gets_the_first_answer_and_applies_nothing(dms_client):
    sync = FakeSync()
    assert submit(dms_client, sync) == SyncAnswer(200, answer(1))
    assert submit(dms_client, sync) == SyncAnswer(200, answer(1), replayed=True)
    assert sync.calls == 1
    stored = IdempotencyRecord.objects.get()
    assert (stored.endpoint, stored.status_code, len(stored.key)) == ("customers", 200, 64)
    assert stored.key != "batch-1"  # kept as its SHA-256


def test_the_same_key_with_another_body_is_a_422(dms_client):
    sync = FakeSync()
    submit(dms_client, sync)
    other = submit(dms_client, sync, body=json.dumps([{"external_id": "C2"}]).encode())
    assert other == SyncAnswer(422, {"detail": "这个 Idempotency-Key 已用于另一个不同的请求体。"})
    assert sync.calls == 1


def test_without_a_key_every_request_is_applied(dms_client):
    sync = FakeSync()
    assert submit(dms_client, sync, key="") == submit(dms_client, sync, key="")
    assert sync.calls == 2 and not IdempotencyRecord.objects.exists()


def test_refused_requests_keep_no_answer_under_their_key(dms_client):
    not_json = submit(dms_client, FakeSync(), body=b"{not json")
    assert not_json == SyncAnswer(400, {"detail": "请求体不是有效的 JSON。"})
    errors = [{"index": 0, "errors": {"colour": ["未知字段。"]}}]
    refused = submit(dms_client, FakeSync(error=BatchRejected("整批未写入。", errors)))
    assert refused == SyncAnswer(400, {"detail": "整批未写入。", "errors": errors})
    assert not IdempotencyRecord.objects.exists()
    assert submit(dms_client, FakeSync()) == SyncAnswer(200, answer(1))  # the key is still free


def test_keys_belong_to_their_client(dms_client):
    other_client = UserFactory(role="dms_client", username="dms-services-2")
    submit(dms_client, FakeSync())
    assert submit(other_client, FakeSync(created=2)) == SyncAnswer(200, answer(2))


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_request_with_the_same_key_answers_with_the_first_answer():
    dms_client = UserFactory(role="dms_client", username="dms-race")
    twin_answers = []

    def twin():
        try:
            twin_answers.append(submit(dms_client, FakeSync(created=2)))
        finally:
            connection.close()

    def sync_overtaken_by_its_twin(*, payload, by):
        # Another request with the same key commits while this one is still writing.
        thread = threading.Thread(target=twin)
        thread.start()
        thread.join(timeout=30)
        return SyncResult(created=1)

    first = submit(dms_client, sync_overtaken_by_its_twin)
    assert twin_answers == [SyncAnswer(200, answer(2))]
    assert first == SyncAnswer(200, answer(2), replayed=True)
    assert IdempotencyRecord.objects.get().response == answer(2)
