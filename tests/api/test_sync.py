"""The DMS sync endpoints against PostgreSQL: counts, per-record errors, replays that write
nothing, order-proofing, references, idempotency keys and every bad request."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer, Vehicle
from tests.api.conftest import post
from tests.factories import CustomerFactory, UserFactory, api_key, valid_vin, wrong_check_digit
from visits.events import visit_delivered
from visits.models import Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def customer(n, **extra):
    return {"external_id": f"C{n}", "name": f"客户{n}", "phone": f"139{n:08d}", **extra}


def vehicle(n, customer_n=None, **extra):
    return {
        "external_id": f"V{n}",
        "customer_external_id": f"C{customer_n if customer_n is not None else n}",
        "vin": valid_vin(n),
        "plate": f"粤B{n:05d}",
        **extra,
    }


def visit(n, vehicle_n=None, **extra):
    checked_in = timezone.now() - timedelta(days=2)
    record = {
        "external_id": f"R{n}",
        "ro_number": f"RO-DMS-{n}",
        "vehicle_external_id": f"V{vehicle_n if vehicle_n is not None else n}",
        "service_type": "repair",
        "status": "in_progress",
        "checked_in_at": checked_in.isoformat(),
    }
    record.update(extra)
    return record


def xmins(table):
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, xmin::text FROM {table} ORDER BY id")  # noqa: S608
        return cursor.fetchall()


def history_count(model):
    return model.history.model.objects.count()


# ---------------------------------------------------------------- customers


def test_customers_created_then_updated_then_unchanged(dms):
    response = post(dms, "customers", [customer(1), customer(2), customer(3)])
    assert response.status_code == 200
    assert response.json() == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
        "errors": [],
    }
    response = post(dms, "customers", [customer(1, name="新名字"), customer(2), customer(4)])
    assert response.json() == {
        "created": 1,
        "updated": 1,
        "unchanged": 1,
        "failed": 0,
        "errors": [],
    }
    assert Customer.objects.get(external_id="C1").name == "新名字"
    assert Customer.objects.get(external_id="C2").phone == "+8613900000002"


def test_an_identical_replay_writes_nothing_at_all(dms):
    batch = [customer(n, source_updated_at="2026-11-20T10:00:00+08:00") for n in range(1, 6)]
    post(dms, "customers", batch)
    before_rows = xmins("customers_customer")
    before_updated = list(Customer.objects.order_by("pk").values_list("updated_at", flat=True))
    before_history = history_count(Customer)
    response = post(dms, "customers", batch)
    assert response.json()["unchanged"] == 5
    assert xmins("customers_customer") == before_rows  # no new row version
    assert (
        list(Customer.objects.order_by("pk").values_list("updated_at", flat=True)) == before_updated
    )
    assert history_count(Customer) == before_history


def test_history_records_the_dms_client_and_what_changed(dms, dms_user):
    post(dms, "customers", [customer(1)])
    post(dms, "customers", [customer(1, name="改名")])
    records = list(Customer.objects.get(external_id="C1").history.order_by("history_date"))
    assert [r.history_type for r in records] == ["+", "~"]
    assert {r.history_user for r in records} == {dms_user}
    assert records[-1].name == "改名" and records[-1].history_change_reason == "DMS sync"


def test_older_source_updated_at_leaves_the_record_unchanged(dms):
    post(dms, "customers", [customer(1, name="新", source_updated_at="2026-11-20T10:00:00+08:00")])
    response = post(
        dms, "customers", [customer(1, name="旧", source_updated_at="2026-11-19T10:00:00+08:00")]
    )
    assert response.json()["unchanged"] == 1
    assert Customer.objects.get(external_id="C1").name == "新"
    response = post(
        dms, "customers", [customer(1, name="更新", source_updated_at="2026-11-21T10:00:00")]
    )
    assert response.json()["updated"] == 1
    assert Customer.objects.get(external_id="C1").name == "更新"


def test_per_record_errors_by_index_and_the_rest_is_written(dms):
    response = post(
        dms,
        "customers",
        [
            customer(1),
            customer(2, phone="12345"),
            customer(3, name=""),
            customer(4, email="not-mail"),
        ],
    )
    body = response.json()
    assert (body["created"], body["failed"]) == (1, 3)
    assert [e["index"] for e in body["errors"]] == [1, 2, 3]
    assert body["errors"][0]["external_id"] == "C2"
    assert "不是有效的手机号" in body["errors"][0]["errors"]["phone"][0]
    assert "name" in body["errors"][1]["errors"] and "email" in body["errors"][2]["errors"]
    assert list(Customer.objects.values_list("external_id", flat=True)) == ["C1"]


def test_errors_in_english_for_an_english_client(dms):
    response = post(
        dms, "customers", [customer(1, phone="12345")], HTTP_COOKIE="django_language=en"
    )
    assert "not a valid mobile" in response.json()["errors"][0]["errors"]["phone"][0]


def test_a_phone_of_another_customer_is_an_error_for_that_record(dms):
    CustomerFactory(name="王芳", phone="+8613900000001")
    body = post(dms, "customers", [customer(1), customer(2)]).json()
    assert body["created"] == 1 and body["errors"][0]["index"] == 0
    assert "王芳" in body["errors"][0]["errors"]["phone"][0]


def test_repeated_external_id_in_one_batch_keeps_the_last(dms):
    body = post(dms, "customers", [customer(1, name="甲"), customer(1, name="乙")]).json()
    assert (body["created"], body["failed"]) == (1, 1)
    assert body["errors"][0]["index"] == 0
    assert Customer.objects.get(external_id="C1").name == "乙"


def test_do_not_contact_from_either_side_sticks(dms):
    post(dms, "customers", [customer(1)])
    record = Customer.objects.get(external_id="C1")
    record.do_not_contact = True
    record.save()
    post(dms, "customers", [customer(1, do_not_contact=False, name="改")])
    record.refresh_from_db()
    assert record.do_not_contact and record.name == "改"


# ---------------------------------------------------------------- vehicles


def test_vehicles_need_their_customer_and_a_valid_vin(dms):
    post(dms, "customers", [customer(1)])
    body = post(
        dms,
        "vehicles",
        [
            vehicle(1),
            vehicle(2, customer_n=99),
            vehicle(3, customer_n=1, vin=wrong_check_digit(valid_vin(3))),
        ],
    ).json()
    assert body["created"] == 1 and body["failed"] == 2
    assert "customer_external_id" in body["errors"][0]["errors"]
    assert "校验位" in body["errors"][1]["errors"]["vin"][0]
    assert Vehicle.objects.get().plate == "粤B00001"


def test_vehicle_plate_is_normalised_and_odometer_never_goes_down(dms):
    post(dms, "customers", [customer(1)])
    post(dms, "vehicles", [vehicle(1, plate="粤b·d12345", odometer_km=30000)])
    response = post(dms, "vehicles", [vehicle(1, plate="粤BD12345", odometer_km=20000)])
    assert response.json()["unchanged"] == 1
    stored = Vehicle.objects.get()
    assert (stored.plate, stored.odometer_km) == ("粤BD12345", 30000)


def test_a_vin_or_plate_of_another_vehicle_is_an_error(dms):
    post(dms, "customers", [customer(1)])
    post(dms, "vehicles", [vehicle(1)])
    body = post(
        dms,
        "vehicles",
        [vehicle(2, customer_n=1, vin=valid_vin(1)), vehicle(3, customer_n=1, plate="粤B00001")],
    ).json()
    assert body["failed"] == 2
    assert "vin" in body["errors"][0]["errors"] and "plate" in body["errors"][1]["errors"]


# ---------------------------------------------------------------- visits


@pytest.fixture
def synced_vehicle(dms):
    post(dms, "customers", [customer(1), customer(2)])
    post(dms, "vehicles", [vehicle(1), vehicle(2)])


@pytest.fixture
def delivered_events():
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    visit_delivered.connect(receiver, dispatch_uid="api-test")
    yield received
    visit_delivered.disconnect(dispatch_uid="api-test")


def test_visits_resolve_references_and_keep_unknown_advisors_as_text(dms, synced_vehicle):
    UserFactory(role="advisor", username="lina")
    body = post(
        dms,
        "visits",
        [
            visit(1, advisor="lina", labour_amount="120.50", parts_amount=80, total_amount="200.5"),
            visit(2, customer_external_id="C1", advisor="SA-07"),
            visit(3, vehicle_n=99),
            visit(4, vehicle_n=1, customer_external_id="C99"),
        ],
    ).json()
    assert body["created"] == 2 and body["failed"] == 2
    first, second = Visit.objects.get(external_id="R1"), Visit.objects.get(external_id="R2")
    assert first.advisor.username == "lina" and first.customer.external_id == "C1"
    assert first.total_amount == Decimal("200.50") and first.labour_amount == Decimal("120.50")
    assert second.advisor is None and second.advisor_code == "SA-07"
    assert second.customer.external_id == "C1"  # the given customer, not the vehicle's owner
    assert "vehicle_external_id" in body["errors"][0]["errors"]
    assert "customer_external_id" in body["errors"][1]["errors"]


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"status": "delivered"}, "delivered_at"),
        ({"status": "teleported"}, "status"),
        ({"service_type": "spa"}, "service_type"),
        ({"checked_in_at": "yesterday"}, "checked_in_at"),
        ({"labour_amount": "-1"}, "labour_amount"),
        ({"parts_amount": "1.234"}, "parts_amount"),
        ({"odometer_km": -5}, "odometer_km"),
        ({"status": "delivered", "delivered_at": "2020-01-01T00:00:00+08:00"}, "delivered_at"),
    ],
)
def test_visit_record_errors(dms, synced_vehicle, extra, field):
    body = post(dms, "visits", [visit(1, **extra)]).json()
    assert body["failed"] == 1 and field in body["errors"][0]["errors"]
    assert Visit.objects.count() == 0


def test_a_recent_delivery_fires_the_delivered_event_once(
    dms, synced_vehicle, delivered_events, django_capture_on_commit_callbacks
):
    delivered_at = (timezone.now() - timedelta(days=1)).isoformat()
    record = visit(1, status="delivered", delivered_at=delivered_at)
    with django_capture_on_commit_callbacks(execute=True):
        post(dms, "visits", [record])
    with django_capture_on_commit_callbacks(execute=True):
        post(dms, "visits", [record])  # a replay: no second event
        post(dms, "visits", [{**record, "concern": "补充描述"}])  # still delivered: no new event
    assert delivered_events == [
        {"visit_id": Visit.objects.get().pk, "source": "dms", "signal": visit_delivered}
    ]


def test_history_does_not_trigger_calls(
    dms, synced_vehicle, delivered_events, django_capture_on_commit_callbacks
):
    old = timezone.now() - timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        post(
            dms,
            "visits",
            [
                visit(
                    1,
                    status="delivered",
                    checked_in_at=old.isoformat(),
                    delivered_at=(old + timedelta(hours=3)).isoformat(),
                )
            ],
        )
    assert Visit.objects.get().status == "delivered"
    assert delivered_events == []


def test_status_change_to_delivered_fires_the_event(
    dms, synced_vehicle, delivered_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        post(dms, "visits", [visit(1)])
        assert delivered_events == []
        post(dms, "visits", [visit(1, status="delivered", delivered_at=timezone.now().isoformat())])
    assert len(delivered_events) == 1


def test_ro_number_of_another_visit_is_an_error(dms, synced_vehicle):
    post(dms, "visits", [visit(1)])
    body = post(dms, "visits", [visit(2, ro_number="RO-DMS-1")]).json()
    assert body["failed"] == 1 and "ro_number" in body["errors"][0]["errors"]


def test_naive_times_are_read_as_shanghai(dms, synced_vehicle):
    post(dms, "visits", [visit(1, checked_in_at="2026-11-20T09:00:00")])
    stored = timezone.localtime(Visit.objects.get().checked_in_at)
    assert (stored.hour, str(stored.tzinfo)) == (9, "Asia/Shanghai")


# ---------------------------------------------------------------- idempotency keys


def test_idempotency_key_returns_the_first_answer(dms):
    first = post(dms, "customers", [customer(1)], HTTP_IDEMPOTENCY_KEY="batch-0001")
    assert first.json()["created"] == 1
    Customer.objects.all().delete()  # even if the data changed meanwhile, the retry gets the first answer
    retry = post(dms, "customers", [customer(1)], HTTP_IDEMPOTENCY_KEY="batch-0001")
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 0  # and nothing was applied again


def test_idempotency_key_with_another_body_is_refused(dms):
    post(dms, "customers", [customer(1)], HTTP_IDEMPOTENCY_KEY="k1")
    response = post(dms, "customers", [customer(2)], HTTP_IDEMPOTENCY_KEY="k1")
    assert response.status_code == 422
    assert Customer.objects.count() == 1


def test_idempotency_keys_belong_to_their_client(dms):
    post(dms, "customers", [customer(1)], HTTP_IDEMPOTENCY_KEY="shared")
    from rest_framework.test import APIClient

    other = APIClient()
    other.credentials(
        HTTP_AUTHORIZATION=f"Token {api_key(UserFactory(role='dms_client', username='dms-2'))}"
    )
    response = post(other, "customers", [customer(1, name="另一个")], HTTP_IDEMPOTENCY_KEY="shared")
    assert response.json()["updated"] == 1


# ---------------------------------------------------------------- bad requests: 400/413, nothing written


def raw(dms, endpoint, body: bytes, content_type="application/json"):
    return dms.generic("POST", f"/api/v1/sync/{endpoint}/", body, content_type=content_type)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "不是有效的 JSON"),
        (b"", "不是有效的 JSON"),
        (b"\xff\xfe", "不是有效的 JSON"),
        (json.dumps({"external_id": "C1"}).encode(), "必须是 JSON 数组"),
        (b"[]", "空数组"),
        (json.dumps(["C1"]).encode(), "JSON 对象"),
        (json.dumps([customer(n) for n in range(1001)]).encode(), "最多 1000 条"),
        (json.dumps([customer(1, shoe_size=42)]).encode(), "未知字段"),
        (json.dumps([customer(1, name=42)]).encode(), "类型错误"),
        (json.dumps([customer(1, marketing_consent="yes")]).encode(), "类型错误"),
        (json.dumps([customer(1, do_not_contact=1)]).encode(), "类型错误"),
        (json.dumps([customer(1), {**customer(2), "phone": 13900000002}]).encode(), "类型错误"),
    ],
)
def test_malformed_requests_are_a_400_and_write_nothing(dms, body, message):
    response = raw(dms, "customers", body)
    assert response.status_code == 400
    assert message in json.dumps(response.json(), ensure_ascii=False)
    assert Customer.objects.count() == 0 and history_count(Customer) == 0


def test_wrong_types_in_visits_and_vehicles_are_a_400(dms, synced_vehicle):
    assert (
        raw(dms, "visits", json.dumps([visit(1, odometer_km="12000")]).encode()).status_code == 400
    )
    assert (
        raw(dms, "visits", json.dumps([visit(1, by_appointment="true")]).encode()).status_code
        == 400
    )
    assert (
        raw(
            dms, "vehicles", json.dumps([vehicle(5, customer_n=1, model_year="2020")]).encode()
        ).status_code
        == 400
    )
    assert Visit.objects.count() == 0 and Vehicle.objects.count() == 2


def test_the_400_names_the_record_and_field(dms):
    body = raw(
        dms, "customers", json.dumps([customer(1), customer(2, colour="red")]).encode()
    ).json()
    assert body["errors"] == [{"index": 1, "errors": {"colour": ["未知字段。"]}}]


def test_a_10_mb_body_is_a_413(dms):
    body = b"[" + b" " * (10 * 1024 * 1024) + b"]"
    response = raw(dms, "customers", body)
    assert response.status_code == 413
    assert "过大" in response.json()["detail"]
    assert Customer.objects.count() == 0


# ---------------------------------------------------------------- who may sync


def test_no_token_is_401_and_a_revoked_token_too(dms, client):
    from rest_framework.test import APIClient

    assert post(APIClient(), "customers", [customer(1)]).status_code == 401
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert post(bad, "customers", [customer(1)]).status_code == 401
    dms.user.api_tokens.all().delete()
    assert post(dms, "customers", [customer(1)]).status_code == 401
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("role", ["advisor", "agent", "manager"])
def test_staff_sessions_may_not_sync(role):
    from rest_framework.test import APIClient

    session = APIClient(enforce_csrf_checks=False)
    session.force_login(UserFactory(role=role, username=f"{role}-api"))
    assert post(session, "customers", [customer(1)]).status_code == 403
    assert Customer.objects.count() == 0


def test_throttled_client_gets_a_clear_429(dms, monkeypatch):
    from api.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "2/min", "anon": "2/min"})
    statuses = [post(dms, "customers", [customer(1)]).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = post(dms, "customers", [customer(1)])
    assert "Retry-After" in response.headers
    assert "请求已被限流" in response.json()["detail"]


def test_the_dms_gives_the_first_promise_once_and_a_later_one_is_the_last(dms, synced_vehicle):
    """The first promise a synced visit gets stays when the DMS moves the promise (counted
    as revised by the figures, visits.rules.REVISED); a visit without one takes the DMS's."""
    first = timezone.now() - timedelta(days=1)
    post(dms, "visits", [visit(1), visit(2, promised_at=first.isoformat())])
    without, with_promise = Visit.objects.order_by("external_id")
    assert without.first_promised_at is None and with_promise.first_promised_at == first
    later = first + timedelta(hours=5)
    body = post(
        dms,
        "visits",
        [visit(1, promised_at=later.isoformat()), visit(2, promised_at=later.isoformat())],
    ).json()
    assert body["updated"] == 2
    without, with_promise = Visit.objects.order_by("external_id")
    assert without.first_promised_at == later and without.promised_at == later
    assert with_promise.first_promised_at == first and with_promise.promised_at == later
    assert with_promise.promise_revised and not without.promise_revised


def test_a_dms_delivery_brings_its_checklist_and_a_later_row_keeps_the_desks(dms, synced_vehicle):
    """Issue 17: the delivery checklist from the DMS (optional): ticks stay ticked and
    advice left out keeps what is stored; a checklist without a delivery, or advice without
    its date or km, is an error for that record."""
    delivered_at = timezone.now() - timedelta(hours=1)
    next_day = (timezone.localdate() + timedelta(days=180)).isoformat()
    delivered = visit(1, status="delivered", delivered_at=delivered_at.isoformat())
    checklist = {
        "checklist_charges_explained": True,
        "checklist_old_parts_offered": True,
        "checklist_car_cleaned": True,
        "checklist_next_service_advised": True,
        "next_service_advised_on": next_day,
        "next_service_advised_km": 15000,
    }
    body = post(
        dms,
        "visits",
        [
            {**delivered, **checklist},
            visit(2, vehicle_n=2, checklist_car_cleaned=True),
            {
                **visit(3, vehicle_n=2, ro_number="RO-DMS-3"),
                "status": "delivered",
                "delivered_at": delivered_at.isoformat(),
                "checklist_next_service_advised": True,
            },
        ],
    ).json()
    assert body["created"] == 1 and body["failed"] == 2
    errors = {error["index"]: error["errors"] for error in body["errors"]}
    assert "只有已交车的工单才有交车检查" in errors[1]["checklist_car_cleaned"][0]
    assert "请填写建议日期或里程" in errors[2]["next_service_advised_on"][0]
    stored = Visit.objects.get(external_id="R1")
    assert stored.checklist_complete and stored.next_service_advised_km == 15000
    assert stored.checklist_at == delivered_at
    # The DMS's next row leaves the checklist out: what was recorded stays.
    post(dms, "visits", [{**delivered, "concern": "补充描述"}])
    stored.refresh_from_db()
    assert stored.checklist_complete and str(stored.next_service_advised_on) == next_day
    assert stored.checklist_at == delivered_at and stored.concern == "补充描述"
