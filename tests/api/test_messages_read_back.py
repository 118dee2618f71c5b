"""GET /api/v1/messages/ (issue 17): the outbox read back, cursor-paginated, filtered,
recipients masked, secrets never shown; DMS clients and managers only."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from messaging.models import Message
from tests.factories import CustomerFactory, UserFactory, VisitFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
URL = "/api/v1/messages/"


def message(customer, purpose="service_ready", visit=None, **fields):
    return Message.objects.create(
        purpose=purpose,
        channel="sms",
        recipient=customer.phone,
        object_key=f"visit:{visit.pk if visit else 0}:1",
        customer=customer,
        visit=visit,
        body=fields.pop("body", "您的爱车已完工"),
        next_attempt_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def outbox():
    wang = CustomerFactory(external_id="C-WANG")
    li = CustomerFactory(external_id="C-LI")
    visit = VisitFactory(customer=wang, external_id="R-1")
    return {
        "ready": message(wang, visit=visit, status=Message.Status.SENT, sent_at=timezone.now()),
        "checked_in": message(
            wang,
            "service_checked_in",
            visit=visit,
            body="查看进度 https://x/r/SECRET",
            params={"link": "https://x/r/SECRET"},
            secret_params=["link"],
        ),
        "reminder": message(li, "maintenance_reminder"),
    }


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_each_filter(dms, outbox):
    everything = {m.pk for m in outbox.values()}
    assert ids(dms.get(URL)) == everything
    assert ids(dms.get(URL, {"customer_external_id": "C-LI"})) == {outbox["reminder"].pk}
    by_visit = {outbox["ready"].pk, outbox["checked_in"].pk}
    assert ids(dms.get(URL, {"visit_external_id": "R-1"})) == by_visit
    assert ids(dms.get(URL, {"purpose": "service_ready"})) == {outbox["ready"].pk}
    assert ids(dms.get(URL, {"status": "sent"})) == {outbox["ready"].pk}
    later = timezone.now()
    Message.objects.filter(pk=outbox["reminder"].pk).update(updated_at=timezone.now())
    assert ids(dms.get(URL, {"updated_since": later.isoformat()})) == {outbox["reminder"].pk}
    assert ids(dms.get(URL, {"visit_external_id": "nobody"})) == set()


def test_cursor_pages_and_the_detail(dms, outbox):
    first = dms.get(URL, {"page_size": 2}).json()
    second = dms.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1
    detail = dms.get(f"{URL}{outbox['ready'].pk}/").json()
    assert detail["visit_external_id"] == "R-1" and detail["customer_external_id"] == "C-WANG"
    assert detail["sent_at"] and detail["channel"] == "sms"


def test_recipient_masked_and_secrets_never_shown(dms, outbox):
    row = dms.get(f"{URL}{outbox['checked_in'].pk}/").json()
    assert row["recipient"] == outbox["checked_in"].masked_recipient
    assert outbox["checked_in"].recipient not in str(row)
    assert "SECRET" not in str(row)  # not sent yet: its link is still in the outbox, not here
    assert row["params"]["link"] == "[…]"


@pytest.mark.parametrize(
    "query",
    [
        {"updated_since": "yesterday"},
        {"updated_since": "0001-01-01T00:00:00Z"},
        {"purpose": "birthday_card"},
        {"status": "lost"},
    ],
)
def test_bad_filters_are_a_clear_400(dms, outbox, query):
    response = dms.get(URL, query)
    assert response.status_code == 400
    assert set(response.json()) == set(query)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("manager", True),
        ("admin", True),
        ("advisor", False),
        ("agent", False),
        ("hotline_client", False),
    ],
)
def test_who_may_read(outbox, role, allowed):
    client = APIClient()
    client.force_authenticate(UserFactory(role=role))
    assert client.get(URL).status_code == (200 if allowed else 403)
    assert client.get(f"{URL}{outbox['ready'].pk}/").status_code == (200 if allowed else 403)
