"""The agent's journey in a real browser at 1366×768: log in, next call (the outcome
buttons on screen without scrolling), reveal the phone (a tel: link), record no answer
(the next call opens by itself; the message says when the first is retried), pause, record
reached and satisfied (back to the queue, which says it is empty)."""

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


def outcome_buttons_in_view(page) -> None:
    """Every outcome button is on screen when the call opens, without scrolling."""
    viewport = page.viewport_size
    labels = page.locator("#outcome-buttons label")
    assert labels.count() >= 5
    for n in range(labels.count()):
        box = labels.nth(n).bounding_box()
        assert box is not None and box["y"] >= 0 and box["x"] >= 0
        assert box["y"] + box["height"] <= viewport["height"], (n, box, viewport)
        assert box["x"] + box["width"] <= viewport["width"], (n, box, viewport)


def test_agent_works_the_queue(page, live_server, queue, screenshot):
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "chenjing")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/calls/")

    page.click("#next-call")
    page.wait_for_selector("#outcome-form")
    outcome_buttons_in_view(page)
    first = FollowUpTask.objects.get(status=FollowUpTask.Status.CLAIMED)
    assert first.customer.name in page.content()
    assert page.inner_text(".phone-value") == first.customer.masked_phone
    page.click(".js-reveal-phone")
    # Not wait_for_function: its polling evaluates a string, which the CSP (no eval) refuses.
    expect(page.locator(".phone-value")).to_have_text(first.customer.phone[3:])
    # The revealed number dials on click (a softphone or desk phone takes tel: links).
    expect(page.locator(".phone-value a")).to_have_attribute("href", f"tel:{first.customer.phone}")
    screenshot("agent-call")
    page.click("label[for=outcome-no_answer]")
    page.click("#save-outcome")
    # The next call opens by itself, and the message says when the first is tried again.
    expect(page.locator(".alert-success")).to_contain_text("将于")
    expect(page.locator(".alert-success")).to_contain_text("再拨")
    page.wait_for_selector("#outcome-form")
    second = FollowUpTask.objects.get(status=FollowUpTask.Status.CLAIMED)
    assert second != first
    outcome_buttons_in_view(page)

    # Pause after this call: saving goes back to the queue page, which says it is empty.
    page.click("#pause-toggle")
    expect(page.locator("#pause-state")).to_contain_text("已暂停接听")
    page.click("label[for=outcome-reached_satisfied]")
    page.click("#save-outcome")
    page.wait_for_selector("#next-call")
    expect(page.locator("#queue-empty")).to_be_visible()
    expect(page.locator("#pause-state")).to_contain_text("已暂停接听")
    expect(page.locator("#my-calls")).to_contain_text("再拨")
    screenshot("agent-queue")

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.attempts) == (FollowUpTask.Status.PENDING, 1)
    assert second.status == FollowUpTask.Status.DONE
    assert CallAttempt.objects.count() == 2
    assert first.customer.phone_reveals.count() == 1
