"""Read-back: list and detail with filters and stable cursor pages; who sees what."""

import hashlib
import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from api.models import ApiToken
from customers.models import Customer, Vehicle
from tests.api.conftest import post
from tests.factories import (
    CustomerFactory,
    UserFactory,
    VehicleFactory,
    VisitFactory,
    api_key,
    valid_vin,
)
from visits.models import Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_customers_list_with_full_phones_for_the_dms(dms):
    CustomerFactory(external_id="C1", phone="+8613812345678")
    body = dms.get("/api/v1/customers/").json()
    assert body["results"][0]["phone"] == "+8613812345678"
    assert body["results"][0]["external_id"] == "C1"
    assert set(body) == {"next", "previous", "results"}


@pytest.mark.parametrize("role", ["advisor", "agent", "manager", "admin"])
def test_staff_read_back_with_their_session_and_see_masked_phones(role):
    """An administrator's session too (issue 15, part 4: it read every phone in clear)."""
    CustomerFactory(phone="+8613812345678")
    session = APIClient()
    session.force_login(UserFactory(role=role, username=f"{role}-read"))
    body = session.get("/api/v1/customers/").json()
    assert body["results"][0]["phone"] == "138****5678"


def test_updated_since_and_other_filters(dms):
    old = CustomerFactory(external_id="OLD")
    Customer.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=3))
    CustomerFactory(external_id="NEW", kind="company")
    since = (timezone.now() - timedelta(days=1)).isoformat()
    ids = [
        c["external_id"]
        for c in dms.get("/api/v1/customers/", {"updated_since": since}).json()["results"]
    ]
    assert ids == ["NEW"]
    ids = [
        c["external_id"]
        for c in dms.get("/api/v1/customers/", {"kind": "company"}).json()["results"]
    ]
    assert ids == ["NEW"]
    ids = [
        c["external_id"]
        for c in dms.get("/api/v1/customers/", {"external_id": "OLD"}).json()["results"]
    ]
    assert ids == ["OLD"]


def test_vehicle_and_visit_filters(dms):
    vehicle = VehicleFactory(external_id="V1", plate="粤BD12345", owner__external_id="C1")
    VehicleFactory(external_id="V2")
    VisitFactory(
        vehicle=vehicle,
        external_id="R1",
        status="delivered",
        delivered_at=timezone.now(),
        advisor_code="SA-07",
    )
    VisitFactory(external_id="R2")
    assert [
        v["external_id"]
        for v in dms.get("/api/v1/vehicles/", {"plate": "粤b d12345"}).json()["results"]
    ] == ["V1"]
    assert [
        v["external_id"]
        for v in dms.get("/api/v1/vehicles/", {"customer_external_id": "C1"}).json()["results"]
    ] == ["V1"]
    assert [
        v["external_id"]
        for v in dms.get("/api/v1/visits/", {"status": "delivered"}).json()["results"]
    ] == ["R1"]
    assert [
        v["external_id"] for v in dms.get("/api/v1/visits/", {"advisor": "SA-07"}).json()["results"]
    ] == ["R1"]
    assert [
        v["external_id"]
        for v in dms.get("/api/v1/visits/", {"vehicle_external_id": "V1"}).json()["results"]
    ] == ["R1"]
    today = timezone.localdate().isoformat()
    found = dms.get("/api/v1/visits/", {"delivered_from": today, "delivered_to": today}).json()[
        "results"
    ]
    assert [v["external_id"] for v in found] == ["R1"]
    detail = dms.get(f"/api/v1/visits/{found[0]['id']}/").json()
    assert detail["vehicle_external_id"] == "V1" and detail["customer_external_id"] == "C1"
    assert detail["advisor"] == "SA-07"


@pytest.mark.parametrize(
    ("url", "params", "field"),
    [
        ("/api/v1/customers/", {"updated_since": "last tuesday"}, "updated_since"),
        ("/api/v1/customers/", {"kind": "alien"}, "kind"),
        ("/api/v1/visits/", {"status": "flying"}, "status"),
        ("/api/v1/visits/", {"checked_in_from": "2026-13-01"}, "checked_in_from"),
        ("/api/v1/follow-up-tasks/", {"kind": "pizza"}, "kind"),
        ("/api/v1/follow-up-tasks/", {"status": "asleep"}, "status"),
        ("/api/v1/follow-up-tasks/", {"updated_since": "soon"}, "updated_since"),
    ],
)
def test_bad_filters_are_a_400_naming_the_parameter(dms, url, params, field):
    response = dms.get(url, params)
    assert response.status_code == 400
    assert field in response.json()


def _task(visit, kind="post_service", **fields):
    from followups.models import FollowUpTask

    return FollowUpTask.objects.create(
        kind=kind,
        source_key=f"visit:{visit.pk}:{kind}",
        customer=visit.customer,
        visit=visit,
        due_at=timezone.now(),
        next_attempt_at=timezone.now(),
        **fields,
    )


def test_follow_up_tasks_read_back_with_their_filters(dms):
    """API.md "Reading back": what the shop did about each visit, for the DMS."""
    first = VisitFactory(external_id="R1", vehicle__owner__external_id="C1")
    second = VisitFactory(external_id="R2", vehicle__owner__external_id="C2")
    call = _task(first, status="completed", outcome="reached_satisfied", attempts=1)
    _task(second)
    _task(second, kind="service_recovery")
    found = dms.get("/api/v1/follow-up-tasks/", {"visit_external_id": "R1"}).json()["results"]
    assert found == [
        {
            "id": call.pk,
            "kind": "post_service",
            "status": "completed",
            "outcome": "reached_satisfied",
            "attempts": 1,
            "due_at": found[0]["due_at"],
            "customer_external_id": "C1",
            "visit_external_id": "R1",
            "updated_at": found[0]["updated_at"],
        }
    ]
    by = {
        "customer_external_id": "C2",
        "kind": "service_recovery",
        "status": "pending",
    }
    for name, value in by.items():
        found = dms.get("/api/v1/follow-up-tasks/", {name: value}).json()["results"]
        expected = {"customer_external_id": 2, "kind": 1, "status": 2}[name]
        assert len(found) == expected, name
    since = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert dms.get("/api/v1/follow-up-tasks/", {"updated_since": since}).json()["results"] == []
    assert dms.get(f"/api/v1/follow-up-tasks/{call.pk}/").json()["visit_external_id"] == "R1"


@pytest.mark.parametrize(("role", "status"), [("manager", 200), ("agent", 403), ("advisor", 403)])
def test_follow_up_tasks_are_read_by_the_dms_and_managers_only(role, status):
    task = _task(VisitFactory())
    session = APIClient()
    session.force_login(UserFactory(role=role, username=f"{role}-tasks"))
    assert session.get("/api/v1/follow-up-tasks/").status_code == status
    assert session.get(f"/api/v1/follow-up-tasks/{task.pk}/").status_code == status


def test_a_date_range_that_ends_before_it_starts_finds_nothing(dms):
    VisitFactory(status="delivered", delivered_at=timezone.now())
    params = {"delivered_from": "2026-11-20", "delivered_to": "2026-11-01"}
    response = dms.get("/api/v1/visits/", params)
    assert response.status_code == 200 and response.json()["results"] == []


def test_bad_cursor_is_a_404_not_a_500(dms):
    assert dms.get("/api/v1/customers/", {"cursor": "garbage"}).status_code == 404


def test_detail_404(dms):
    for kind in ("customers", "vehicles", "visits", "survey-responses", "follow-up-tasks"):
        response = dms.get(f"/api/v1/{kind}/999999/")
        assert response.status_code == 404 and "detail" in response.json(), kind


def test_cursor_pages_cover_every_row_once_even_while_rows_change(dms):
    customers = [CustomerFactory(external_id=f"C{n:03d}") for n in range(25)]
    seen, url, changed = [], "/api/v1/customers/?page_size=7", False
    while url:
        body = dms.get(url).json()
        seen += [c["external_id"] for c in body["results"]]
        if not changed:
            # A row already read is updated mid-way: it moves to the end of the feed, and the
            # rows not yet read are neither skipped nor repeated.
            Customer.objects.filter(pk=customers[0].pk).update(
                updated_at=timezone.now() + timedelta(seconds=1)
            )
            changed = True
        url = body["next"]
    assert set(seen) == {c.external_id for c in customers}
    assert seen.count("C000") == 2 and len(seen) == 26


def test_dms_client_reaches_the_api_and_nothing_else(dms, client, dms_user):
    assert dms.get("/api/v1/visits/").status_code == 200
    client.force_login(dms_user)
    assert client.get("/board/").status_code == 403
    assert client.get("/search/?q=x").status_code == 403


def test_no_credentials_is_401(db):
    assert APIClient().get("/api/v1/customers/").status_code == 401


def test_user_without_a_role_is_403(db):
    session = APIClient()
    session.force_login(UserFactory(username="nobody"))
    assert session.get("/api/v1/customers/").status_code == 403


# ---------------------------------------------------------------- tokens


def test_create_api_token_prints_only_the_token_and_rotates_it(db):
    out = StringIO()
    call_command("create_api_token", "dms-prod", stdout=out)
    first = out.getvalue().strip()
    stored = ApiToken.objects.get(user__username="dms-prod")
    # Only the SHA-256 is kept (issue 15, part 7): the key is nowhere in the database.
    assert (
        stored.digest == hashlib.sha256(first.encode()).hexdigest() and stored.prefix == first[:8]
    )
    assert first not in str(list(ApiToken.objects.values()))
    assert not stored.user.has_usable_password()
    assert list(stored.user.groups.values_list("name", flat=True)) == ["dms_client"]
    out = StringIO()
    call_command("create_api_token", "dms-prod", "--expires-days", "30", stdout=out)
    second = out.getvalue().strip()
    assert second != first and ApiToken.objects.filter(user__username="dms-prod").count() == 1
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {first}")
    assert client.get("/api/v1/customers/").status_code == 401  # rotated away
    client.credentials(HTTP_AUTHORIZATION=f"Token {second}")
    assert client.get("/api/v1/customers/").status_code == 200
    token = ApiToken.objects.get(user__username="dms-prod")
    assert token.last_used_at is not None
    assert token.expires_at.date() == (timezone.now() + timedelta(days=30)).date()


def test_an_expired_token_is_refused(dms_user):
    key = api_key(dms_user, expires_at=timezone.now() - timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/customers/").status_code == 401


def test_create_api_token_refuses_a_bad_expiry_and_writes_nothing(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command("create_api_token", "x", "--expires-days", "0", stdout=StringIO())
    assert not ApiToken.objects.exists()
    assert not get_user_model().objects.filter(username="x").exists()


def test_create_api_token_refuses_an_unknown_role(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError):
        call_command(
            "create_api_token", "x", "--role", "overlord", stdout=StringIO(), stderr=StringIO()
        )


# ---------------------------------------------------------------- schema and docs


def test_schema_describes_every_endpoint(client):
    import yaml

    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    paths = schema["paths"]
    sync_paths = ["customers", "vehicles", "visits", "work-items", "survey-responses"]
    for path in (f"/api/v1/sync/{kind}/" for kind in sync_paths):
        operation = paths[path]["post"]
        assert {"200", "400", "401", "403", "413", "429"} <= set(operation["responses"])
        assert operation["requestBody"]["content"]["application/json"]["schema"]["type"] == "array"
    for path in ("/api/v1/customers/", "/api/v1/vehicles/", "/api/v1/visits/"):
        names = {p["name"] for p in paths[path]["get"]["parameters"]}
        assert {"updated_since", "cursor", "external_id"} <= names
    names = {p["name"] for p in paths["/api/v1/follow-up-tasks/"]["get"]["parameters"]}
    assert {"updated_since", "cursor", "visit_external_id", "kind", "status"} <= names
    # Issue 17: the DMS's extra work, and what the visit read-back shows of it.
    work_item = schema["components"]["schemas"]["WorkItemSyncRecordRequest"]
    assert {"external_id", "visit_external_id", "urgency", "answer"} <= set(
        work_item["required"]
    ) | set(work_item["properties"])
    visit = schema["components"]["schemas"]["VisitOut"]["properties"]
    assert {"first_promised_at", "promise_revisions", "work_items", "checklist_at"} <= set(visit)


def test_docs_page_uses_local_static_files(client):
    body = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in body
    assert "cdn" not in body.lower() and "https://" not in body


# ---------------------------------------------------------------- concurrency


@pytest.mark.django_db(transaction=True)
def test_overlapping_batches_from_two_threads_make_no_duplicates_and_no_deadlock(dms_user):
    token = api_key(dms_user)
    customers = [
        {"external_id": f"C{n}", "name": f"客户{n}", "phone": f"139{n:08d}"} for n in range(60)
    ]
    vehicles = [
        {
            "external_id": f"V{n}",
            "customer_external_id": f"C{n}",
            "vin": valid_vin(n + 1),
            "plate": f"粤B{n:05d}",
        }
        for n in range(60)
    ]
    # Two batches that overlap on half their records, in opposite orders.
    batches = [
        (customers[:40], vehicles[:40]),
        (list(reversed(customers[20:])), list(reversed(vehicles[20:]))),
    ]
    answers, errors = [], []
    barrier = threading.Barrier(2)

    def worker(batch):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        try:
            barrier.wait()
            for _ in range(3):
                answers.append(post(client, "customers", batch[0]).json())
                answers.append(post(client, "vehicles", batch[1]).json())
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert all(answer["failed"] == 0 for answer in answers), answers
    assert Customer.objects.count() == 60 and Vehicle.objects.count() == 60
    assert sum(a["created"] for a in answers) == 120
    assert Visit.objects.count() == 0


def test_tokens_are_created_once_shown_and_revoked_in_the_admin(client, dms_user):
    admin_user = UserFactory(role="admin", username="root-tokens")
    client.force_login(admin_user)
    assert client.get("/admin/api/apitoken/").status_code == 200
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404  # DRF's clear tokens
    response = client.post("/admin/api/apitoken/add/", {"user": dms_user.pk}, follow=True)
    assert response.status_code == 200
    (shown,) = [str(m) for m in response.context["messages"] if "只显示这一次" in str(m)]
    key = shown.rsplit("：", 1)[1]
    token = ApiToken.objects.get(user=dms_user)
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in client.get(f"/admin/api/apitoken/{token.pk}/change/").content.decode()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/customers/").status_code == 200
    response = client.post(f"/admin/api/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not ApiToken.objects.filter(user=dms_user).exists()
    assert api.get("/api/v1/customers/").status_code == 401


def test_idempotency_records_are_kept_a_week(dms):
    from datetime import timedelta

    from api.models import IdempotencyRecord
    from api.services import idempotency_records_prune
    from tests.api.conftest import post

    post(
        dms,
        "customers",
        [{"external_id": "C1", "name": "张三", "phone": "13900000001"}],
        HTTP_IDEMPOTENCY_KEY="a",
    )
    post(
        dms,
        "customers",
        [{"external_id": "C2", "name": "李四", "phone": "13900000002"}],
        HTTP_IDEMPOTENCY_KEY="b",
    )
    old = IdempotencyRecord.objects.order_by("pk").first()
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=8)
    )
    # The retention sweep runs this (privacy.tasks.retention_sweep, hourly).
    assert idempotency_records_prune() == 1
    assert idempotency_records_prune() == 0
    assert IdempotencyRecord.objects.count() == 1
