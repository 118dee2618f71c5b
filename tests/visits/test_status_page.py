"""The customer's status page of a repair (issue 17, /r/<token>/): the steps with their
times, the promise, the advisor, the estimate, and after delivery the bill and the e-RO; no
login, light, nothing the link holder would not know; guessed and expired links get the same
friendly page as surveys."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from shopcrm.tokens import hash_token
from tests.factories import CustomerFactory, UserFactory, VehicleFactory, VisitFactory
from visits import services, status
from visits.models import StatusLink, Visit

pytestmark = pytest.mark.django_db
S = Visit.Status


@pytest.fixture
def visit():
    advisor = UserFactory(role="advisor", username="lina-s", last_name="李", first_name="娜")
    customer = CustomerFactory(name="周杰伦", phone="+8613912345678")
    return VisitFactory(
        vehicle=VehicleFactory(owner=customer, plate="粤B12345", brand="丰田", model="凯美瑞"),
        advisor=advisor,
        concern="1 万公里保养，空调有异味",
        estimated_amount=880,
    )


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_the_link_opens_the_progress_and_keeps_only_a_hash(client, visit):
    link = status.status_link_create(visit=visit)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert len(token) >= 32  # 192 random bits, url-safe
    stored = StatusLink.objects.get(visit=visit)
    assert stored.token_hash == hash_token(token) and token not in stored.token_hash
    services.visit_transition(visit=visit, to_status=S.IN_PROGRESS, by=visit.advisor)
    response = client.get(path_of(link))
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"].startswith("max-age=0")
    assert "您的爱车正在维修" in html and visit.ro_number in html and "粤B12345" in html
    assert 'data-step="in_progress"' in html and "李娜" in html
    assert timezone.localtime(visit.promised_at).strftime("%m-%d %H:%M") in html
    assert "¥880.00" in html
    # Nothing the link holder would not know: the phone masked, no name.
    assert "13912345678" not in html and "139****5678" in html and "周杰伦" not in html
    # Light: no framework, no script, well under 40 KB.
    assert len(response.content) < 40_000
    assert "<script" not in html and "bootstrap" not in html


def test_the_steps_carry_the_time_each_was_reached(client, visit):
    link = status.status_link_create(visit=visit)
    services.visit_transition(visit=visit, to_status=S.IN_PROGRESS, by=visit.advisor)
    page = status.status_page(visit=Visit.objects.get(pk=visit.pk))
    done = {step.status: step for step in page.steps}
    assert done[S.CHECKED_IN].at == visit.checked_in_at and done[S.IN_PROGRESS].at
    assert done[S.IN_PROGRESS].current and not done[S.READY].done and done[S.READY].at is None
    assert client.get(path_of(link)).status_code == 200


def test_after_delivery_the_bill_and_the_e_ro(client, visit):
    link = status.status_link_create(visit=visit)
    for step in (S.IN_PROGRESS, S.QUALITY_CHECK, S.READY):
        services.visit_transition(visit=visit, to_status=step, by=visit.advisor)
    services.visit_deliver(visit=visit, labour_amount=320, parts_amount=560, by=visit.advisor)
    html = client.get(path_of(link)).content.decode()
    assert "您的爱车已交车" in html and 'id="status-bill"' in html and "¥880.00" in html
    assert 'id="status-ero"' in html and 'id="status-promise"' not in html


def test_english_on_the_switch(client, visit):
    link = status.status_link_create(visit=visit)
    client.cookies["django_language"] = "en"
    html = client.get(path_of(link)).content.decode()
    assert "Your car is being serviced" in html and "中文" in html


def test_a_guessed_or_expired_link_gets_the_friendly_page(client, visit):
    guessed = client.get(reverse("visits:status", args=["not-a-real-token"]))
    assert guessed.status_code == 404 and "链接无效" in guessed.content.decode()
    assert visit.ro_number not in guessed.content.decode()
    link = status.status_link_create(visit=visit)
    Visit.objects.filter(pk=visit.pk).update(
        status=S.DELIVERED,
        delivered_at=timezone.now() - timedelta(days=31),
        checked_in_at=timezone.now() - timedelta(days=31, hours=3),
    )
    expired = client.get(path_of(link))
    body = expired.content.decode()
    assert expired.status_code == 410 and "已过期" in body and visit.ro_number not in body
    Visit.objects.filter(pk=visit.pk).update(delivered_at=timezone.now() - timedelta(days=29))
    assert client.get(path_of(link)).status_code == 200


@pytest.mark.parametrize("junk", ["x" * 300, "%00", "..%2F..%2Fetc"])
def test_junk_tokens_are_an_invalid_link_not_an_error(client, junk):
    assert client.get(f"/r/{junk}/").status_code in (404,)


def test_the_page_is_rate_limited_per_address(client, visit, settings):
    from django.core.cache import cache

    cache.clear()  # the earlier tests' requests from this address, this minute
    settings.SURVEY_PAGE_RATE = 2
    link = path_of(status.status_link_create(visit=visit))
    assert [client.get(link).status_code for _ in range(3)] == [200, 200, 429]


def test_a_revised_promise_shows_with_its_reason(client, visit):
    link = status.status_link_create(visit=visit)
    later = timezone.now() + timedelta(days=1)
    services.visit_promise_revise(
        visit=visit, promised_at=later, reason="parts_late", by=visit.advisor
    )
    html = client.get(path_of(link)).content.decode()
    assert timezone.localtime(later).strftime("%m-%d %H:%M") in html and "配件未到" in html
