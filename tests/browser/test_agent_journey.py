"""The agent's journey in a real browser: log in, next call, reveal the phone, record no
answer, next call, record reached and satisfied."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from followups import services
from followups.models import CallAttempt, FollowUpTask
from tests.factories import CustomerFactory, UserFactory, VisitFactory, contact_all_day
from visits.models import Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue():
    contact_all_day()
    tasks = []
    for n, name in enumerate(["王芳", "赵敏"]):
        delivered = timezone.now() - timedelta(hours=30 + n)
        visit = VisitFactory(
            customer=CustomerFactory(name=name, phone=f"+8613700000{n:03d}"),
            status=Visit.Status.DELIVERED,
            checked_in_at=delivered - timedelta(hours=2),
            delivered_at=delivered,
        )
        visit.vehicle.owner = visit.customer
        visit.vehicle.save()
        tasks.append(services.post_service_task_create(visit_id=visit.pk))
    UserFactory(role="agent", username="chenjing", last_name="陈", first_name="静")
    return tasks


def test_agent_works_the_queue(page, live_server, queue, screenshot):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "chenjing")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/calls/")

    page.click("#next-call")
    page.wait_for_selector("#outcome-form")
    first = FollowUpTask.objects.get(status=FollowUpTask.Status.CLAIMED)
    assert first.customer.name in page.content()
    assert page.inner_text(".phone-value") == first.customer.masked_phone
    page.click(".js-reveal-phone")
    # Not wait_for_function: its polling evaluates a string, which the CSP (no eval) refuses.
    expect(page.locator(".phone-value")).to_have_text(first.customer.phone[3:])
    screenshot("agent-call")
    page.click("label[for=outcome-no_answer]")
    page.click("#save-outcome")
    page.wait_for_selector("#next-call")
    assert "无人接听" in page.content()

    page.click("#next-call")
    page.wait_for_selector("#outcome-form")
    second = FollowUpTask.objects.get(status=FollowUpTask.Status.CLAIMED)
    assert second != first
    page.click("label[for=outcome-reached_satisfied]")
    page.click("#save-outcome")
    page.wait_for_selector("#next-call")
    screenshot("agent-queue")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempts) == (FollowUpTask.Status.PENDING, 1)
    assert second.status == FollowUpTask.Status.DONE
    assert CallAttempt.objects.count() == 2
    assert first.customer.phone_reveals.count() == 1
