"""POST /api/v1/sync/work-items/ (issue 17, the DMS path): extra work (增项) the DMS records
goes through the advisor's services, so the customer gets the same message and status page;
the DMS's answers are recorded once with the channel "dms"; the batch rules of the other
sync endpoints (per-record errors, idempotency keys, older rows ignored) hold."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from messaging.backends import LocmemBackend
from messaging.models import Message
from tests.api.conftest import post
from tests.factories import UserFactory, VisitFactory, contact_all_day
from visits import workitems
from visits.models import Recommendation, Visit, WorkItem

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.fixture
def car_in():
    return VisitFactory(external_id="R1", status=Visit.Status.IN_PROGRESS)


def item(n, visit="R1", **extra):
    return {
        "external_id": f"W{n}",
        "visit_external_id": visit,
        "description": f"前刹车片剩余 2 mm（{n}）",
        "labour_estimate": "120.00",
        "parts_estimate": 380,
        "urgency": "safety",
        **extra,
    }


def sync(dms, records, **extra):
    response = post(dms, "work-items", records, **extra)
    assert response.status_code == 200, response.content
    return response.json()


def test_a_good_batch_creates_items_and_records_answers(dms, car_in):
    answered_at = timezone.now() - timedelta(minutes=5)
    body = sync(
        dms,
        [
            item(1),
            item(2, urgency="can_wait", answer="deferred", answered_at=answered_at.isoformat()),
        ],
    )
    assert body == {"created": 2, "updated": 0, "unchanged": 0, "failed": 0, "errors": []}
    waiting, deferred = WorkItem.objects.order_by("external_id")
    assert (waiting.status, waiting.kind, waiting.visit_id) == ("awaiting", "extra", car_in.pk)
    assert waiting.labour_estimate == Decimal("120.00") and waiting.estimate == Decimal("500.00")
    assert waiting.requested_by == dms.user and waiting.answered_at is None
    assert (deferred.status, deferred.answer_channel) == ("deferred", WorkItem.Channel.DMS)
    assert deferred.answered_at == answered_at and deferred.requested_at <= answered_at
    assert Recommendation.objects.get().item == deferred  # as the advisor's answer does
    # The answer to the waiting one arrives later; the approved work joins the estimate.
    body = sync(dms, [item(1, answer="approved")])
    assert (body["updated"], body["failed"]) == (1, 0)
    waiting.refresh_from_db()
    assert (waiting.status, waiting.answer_channel) == ("approved", "dms")
    assert workitems.current_estimate(car_in) == car_in.estimated_amount + Decimal("500.00")


def test_replays_change_nothing_with_or_without_a_key(dms, car_in):
    records = [item(1, answer="approved"), item(2)]
    first = post(dms, "work-items", records, HTTP_IDEMPOTENCY_KEY="batch-1")
    again = post(dms, "work-items", records, HTTP_IDEMPOTENCY_KEY="batch-1")
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    other = post(dms, "work-items", [item(3)], HTTP_IDEMPOTENCY_KEY="batch-1")
    assert other.status_code == 422
    stamps = list(WorkItem.objects.order_by("pk").values_list("pk", "updated_at", "status"))
    # Without a key: the same answer again is nothing, and no second item is made.
    body = sync(dms, records)
    assert body == {"created": 0, "updated": 0, "unchanged": 2, "failed": 0, "errors": []}
    assert list(WorkItem.objects.order_by("pk").values_list("pk", "updated_at", "status")) == (
        stamps
    )


def test_an_unknown_visit_is_an_error_for_that_record_only(dms, car_in):
    body = sync(dms, [item(1, visit="R404"), item(2)])
    assert body["created"] == 1 and body["failed"] == 1
    assert body["errors"][0]["index"] == 0 and body["errors"][0]["external_id"] == "W1"
    assert "没有这个 external_id 的工单" in body["errors"][0]["errors"]["visit_external_id"][0]
    assert list(WorkItem.objects.values_list("external_id", flat=True)) == ["W2"]


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"urgency": "whenever"}, "urgency", "可选值"),
        ({"urgency": None}, "urgency", "必填"),
        ({"labour_estimate": "-1"}, "labour_estimate", "金额必须在 0 到"),
        ({"parts_estimate": "2000000"}, "parts_estimate", "金额须在 0 到 1,000,000"),
        ({"parts_estimate": None}, "parts_estimate", "必填"),
        ({"description": "  "}, "description", "必填"),
        ({"description": "长" * 201}, "description", "最多 200 个字符"),
        ({"answer": "maybe"}, "answer", "可选值"),
        ({"answered_at": timezone.now().isoformat()}, "answered_at", "必须有答复"),
        ({"answer": "deferred"}, "answer", "不能这样答复"),  # a safety item: now or never
        ({"answer": "approved", "answered_at": "2099-01-01T09:00:00+08:00"}, "answered_at", ""),
        ({"requested_at": "2099-01-01T09:00:00+08:00"}, "requested_at", ""),
        (
            {
                "requested_at": (timezone.now() - timedelta(hours=1)).isoformat(),
                "answer": "approved",
                "answered_at": (timezone.now() - timedelta(hours=2)).isoformat(),
            },
            "answered_at",
            "不能早于提出增项的时间",
        ),
    ],
)
def test_bad_values_are_a_clear_error_and_nothing_is_written(dms, car_in, extra, field, message):
    body = sync(dms, [item(1, **extra), item(2)])
    assert body["created"] == 1 and body["failed"] == 1
    [error] = body["errors"]
    assert error["index"] == 0 and list(error["errors"]) == [field]
    assert message in error["errors"][field][0]
    # Not the item without its answer, not its message, not a recommendation.
    assert list(WorkItem.objects.values_list("external_id", flat=True)) == ["W2"]
    assert not Recommendation.objects.exists()


def test_a_second_different_answer_is_refused_and_the_same_one_is_nothing(dms, car_in):
    sync(dms, [item(1, urgency="recommended", answer="declined")])
    body = sync(dms, [item(1, urgency="recommended", answer="approved")])
    assert body["failed"] == 1 and "已经答复过了" in body["errors"][0]["errors"]["answer"][0]
    stored = WorkItem.objects.get()
    assert stored.status == "declined" and Recommendation.objects.count() == 1
    assert sync(dms, [item(1, urgency="recommended", answer="declined")])["unchanged"] == 1
    # The customer answered on the status page first: the DMS's other answer is refused too.
    sync(dms, [item(2)])
    workitems.extra_work_answer(
        item=WorkItem.objects.get(external_id="W2"), decision="approved", channel="status_page"
    )
    body = sync(dms, [item(2, answer="declined")])
    assert body["failed"] == 1 and "answer" in body["errors"][0]["errors"]
    # Without an answer the DMS only repeats the item: the status page's answer stays.
    assert sync(dms, [item(2)])["unchanged"] == 1
    assert WorkItem.objects.get(external_id="W2").answer_channel == "status_page"


def test_what_the_customer_was_asked_cannot_be_changed(dms, car_in):
    VisitFactory(external_id="R2", status=Visit.Status.IN_PROGRESS)
    sync(dms, [item(1)])
    body = sync(
        dms, [item(1, labour_estimate="99.00"), item(1, visit="R2") | {"external_id": "W1b"}]
    )
    assert body["created"] == 1 and body["failed"] == 1
    assert "labour_estimate" in body["errors"][0]["errors"]
    body = sync(dms, [item(1, visit="R2")])
    assert "visit_external_id" in body["errors"][0]["errors"]
    assert WorkItem.objects.get(external_id="W1").labour_estimate == Decimal("120.00")


def test_an_answer_after_delivery_is_refused_as_at_the_desk(dms, car_in):
    sync(dms, [item(1)])
    Visit.objects.filter(pk=car_in.pk).update(
        status=Visit.Status.DELIVERED, delivered_at=timezone.now()
    )
    body = sync(dms, [item(1, answer="approved"), item(2)])
    assert body["created"] == 0 and body["failed"] == 2
    by_index = {error["index"]: error["errors"] for error in body["errors"]}
    assert "不能再答复" in by_index[0]["answer"][0]
    assert "不能再提出增项" in by_index[1]["visit_external_id"][0]
    assert WorkItem.objects.get().status == "awaiting"


def test_an_older_row_is_ignored(dms, car_in):
    newer = timezone.now() - timedelta(minutes=1)
    older = newer - timedelta(hours=1)
    sync(dms, [item(1, urgency="recommended", source_updated_at=newer.isoformat())])
    body = sync(
        dms,
        [item(1, urgency="recommended", answer="approved", source_updated_at=older.isoformat())],
    )
    assert body["unchanged"] == 1 and WorkItem.objects.get().status == "awaiting"
    later = newer + timedelta(seconds=30)
    body = sync(
        dms,
        [item(1, urgency="recommended", answer="declined", source_updated_at=later.isoformat())],
    )
    assert body["updated"] == 1
    stored = WorkItem.objects.get()
    assert stored.status == "declined" and stored.source_updated_at == later


def test_a_synced_item_sends_one_extra_work_message_and_shows_on_the_visit(
    dms, car_in, django_capture_on_commit_callbacks
):
    # The templates, as the data migrations seed them (an earlier transactional test's
    # flush may have removed them).
    from importlib import import_module

    from django.apps import apps

    for name in ("0002_seed_templates", "0004_extra_work_template"):
        import_module(f"servicemessages.migrations.{name}").seed(apps, None)
    contact_all_day()
    LocmemBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sync(dms, [item(1)])
    with django_capture_on_commit_callbacks(execute=True):
        sync(dms, [item(1)])  # again: nothing new
        sync(dms, [item(1, answer="approved")])  # the answer sends no "waiting" message
    [message] = Message.objects.filter(purpose=Message.Purpose.SERVICE_EXTRA_WORK)
    stored = WorkItem.objects.get()
    assert message.visit_id == car_in.pk and message.object_key == f"visit:{car_in.pk}:{stored.pk}"
    sent = [m for m in LocmemBackend.outbox if m.pk == message.pk]
    assert len(sent) == 1 and "前刹车片剩余 2 mm" in sent[0].body and "/r/" in sent[0].body
    LocmemBackend.outbox.clear()


def test_the_visit_read_back_shows_what_issue_17_added(dms, car_in):
    from visits import services as visit_services

    advisor = UserFactory(role="advisor", username="lina")
    before = Visit.objects.get(pk=car_in.pk).updated_at
    sync(dms, [item(1, urgency="recommended", answer="declined")])
    assert Visit.objects.get(pk=car_in.pk).updated_at > before  # "what changed since" sees it
    later = timezone.now() + timedelta(days=1)
    visit_services.visit_promise_revise(
        visit=car_in, promised_at=later, reason="parts_late", by=advisor
    )
    body = dms.get(f"/api/v1/visits/{car_in.pk}/").json()
    assert body["first_promised_at"] is not None and body["promise_revisions"] == [
        {
            "at": body["promise_revisions"][0]["at"],
            "from_promised_at": body["first_promised_at"],
            "to_promised_at": body["promised_at"],
            "reason": "parts_late",
            "note": "",
        }
    ]
    [work_item] = body["work_items"]
    assert work_item["external_id"] == "W1" and work_item["status"] == "declined"
    assert work_item["answer_channel"] == "dms" and work_item["answered_at"]
    assert (work_item["labour_estimate"], work_item["parts_estimate"]) == ("120.00", "380.00")
    assert work_item["urgency"] == "recommended" and work_item["kind"] == "extra"
    assert body["checklist_car_cleaned"] is False and body["next_service_advised_km"] is None
    listed = dms.get("/api/v1/visits/", {"external_id": "R1"}).json()["results"]
    assert listed[0]["work_items"] == body["work_items"]


def test_batch_rules_as_the_other_endpoints(dms, car_in):
    assert post(dms, "work-items", []).status_code == 400
    response = post(dms, "work-items", [{**item(1), "colour": "red"}])
    assert response.status_code == 400 and not WorkItem.objects.exists()
    response = post(dms, "work-items", [item(1, labour_estimate=True)])
    assert response.status_code == 400
    body = sync(dms, [item(1), item(1, description="后刹车片")])  # the last one counts
    assert body["created"] == 1 and body["failed"] == 1
    assert WorkItem.objects.get().description == "后刹车片"


@pytest.mark.parametrize("role", ["advisor", "agent", "manager", "hotline_client"])
def test_only_the_dms_may_sync_work_items(role, car_in):
    from rest_framework.test import APIClient

    session = APIClient()
    session.force_login(UserFactory(role=role, username=f"{role}-api"))
    assert post(session, "work-items", [item(1)]).status_code == 403
    assert post(APIClient(), "work-items", [item(1)]).status_code == 401
    assert not WorkItem.objects.exists()


def test_errors_in_english_for_an_english_client(dms, car_in):
    sync(dms, [item(1, answer="approved")])
    response = post(
        dms, "work-items", [item(1, answer="declined")], HTTP_COOKIE="django_language=en"
    )
    assert "already been answered" in response.json()["errors"][0]["errors"]["answer"][0]
