"""The advisor on the reception tablet (1024×768, issue 17): revises the promise with a
reason (a missing reason is said, nothing written), delivers with the checklist (the next
service prefilled), and sees both on the printed repair order; the same pages in English at
1366 px."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import UserFactory, VisitFactory
from visits.models import PromiseRevision, Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in(browser, live_server, *, width, language):
    context = browser.new_context(viewport={"width": width, "height": 768})
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "lina")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/board/")
    return context, page


def no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


@pytest.fixture
def ready_visit(db):
    UserFactory(role="advisor", username="lina", last_name="李", first_name="娜")
    return VisitFactory(
        status=Visit.Status.READY,
        ro_number="RO2026112900017",
        checked_in_at=timezone.now() - timedelta(hours=3),
        promised_at=timezone.now() + timedelta(minutes=30),
        odometer_km=20_000,
    )


def test_revise_the_promise_deliver_with_the_checklist_and_print(
    browser, live_server, screenshot_dir, ready_visit
):
    visit = ready_visit
    first = visit.promised_at
    context, page = signed_in(browser, live_server, width=1024, language="zh-hans")
    page.goto(f"{live_server.url}/visits/{visit.pk}/")

    # No reason: said on the form, nothing written.
    page.click("#promise-revise summary")
    for field in ("input[name=promised_at]", "select[name=reason]", "input[name=note]"):
        assert page.locator(f"#promise-form {field}").bounding_box()["height"] >= 44  # a finger
    new_time = timezone.localtime(timezone.now() + timedelta(hours=3)).replace(second=0)
    page.fill("#promise-form input[name=promised_at]", new_time.strftime("%Y-%m-%dT%H:%M"))
    page.click("#promise-button")
    expect(page.locator("#promise-form")).to_contain_text("请选择修改原因")
    assert not PromiseRevision.objects.exists()

    page.select_option("#promise-form select[name=reason]", "parts_late")
    page.fill("#promise-form input[name=promised_at]", new_time.strftime("%Y-%m-%dT%H:%M"))
    page.click("#promise-button")
    expect(page.locator("#promise-revisions")).to_contain_text("配件未到")
    expect(page.locator("#visit-first-promise")).to_contain_text(
        timezone.localtime(first).strftime("%Y-%m-%d %H:%M")
    )
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshot_dir / "promise-revised-zh-1024.png"), full_page=True)

    # The checklist: the next service prefilled from the car's mileage; three of four ticked.
    checklist = page.locator("#deliver-checklist")
    expect(checklist.locator("input[name=next_service_advised_km]")).to_have_value("25000")
    assert checklist.locator("input[name=next_service_advised_on]").input_value()
    tick = checklist.locator("input[name=checklist_car_cleaned]").bounding_box()
    assert tick["height"] >= 20 and page.locator("#deliver-button").bounding_box()["height"] >= 38
    page.fill("input[name=labour_amount]", "300")
    page.fill("input[name=parts_amount]", "200")
    for name in ("charges_explained", "old_parts_offered", "next_service_advised"):
        checklist.locator(f"input[name=checklist_{name}]").check()
    page.screenshot(path=str(screenshot_dir / "deliver-checklist-zh-1024.png"), full_page=True)
    page.click("#deliver-button")
    expect(page.locator(".alert-success")).to_contain_text("交车检查未全部完成")
    expect(page.locator("#visit-checklist")).to_contain_text("不完整")
    visit.refresh_from_db()
    assert visit.status == Visit.Status.DELIVERED and not visit.checklist_complete
    assert visit.first_promised_at == first and visit.promise_revisions == 1

    # The printed repair order shows the first promise, the revision and the checklist.
    page.goto(f"{live_server.url}/visits/{visit.pk}/print/?noprint")
    expect(page.locator("#ro-promise")).to_contain_text(
        timezone.localtime(first).strftime("%Y-%m-%d %H:%M")
    )
    expect(page.locator("#ro-promise-revisions")).to_contain_text("配件未到")
    expect(page.locator("#ro-checklist")).to_contain_text("车辆已清洁")
    expect(page.locator("#ro-checklist")).to_contain_text("25000 km")
    page.screenshot(path=str(screenshot_dir / "ro-print-zh-1024.png"), full_page=True)
    context.close()

    # The same in English on a 1366 screen.
    context, page = signed_in(browser, live_server, width=1366, language="en")
    page.goto(f"{live_server.url}/visits/{visit.pk}/")
    expect(page.locator("#promise-revisions")).to_contain_text("Parts late")
    expect(page.locator("#visit-checklist")).to_contain_text("Incomplete")
    no_sideways_scroll(page)
    page.screenshot(path=str(screenshot_dir / "visit-delivered-en-1366.png"), full_page=True)
    page.goto(f"{live_server.url}/visits/{visit.pk}/print/?noprint")
    expect(page.locator("#ro-checklist")).to_contain_text("Car cleaned")
    page.screenshot(path=str(screenshot_dir / "ro-print-en-1366.png"), full_page=True)
    context.close()


def test_the_managers_tiles_and_advisor_table(browser, live_server, screenshot_dir, ready_visit):
    """The three new tiles and the advisors' promise table fit the tablet and the desktop, in
    both languages, and a tile opens its rows."""
    UserFactory(role="manager", username="boss")
    delivered = timezone.now() - timedelta(hours=1)
    VisitFactory(
        status=Visit.Status.DELIVERED,
        checked_in_at=delivered - timedelta(hours=3),
        first_promised_at=delivered - timedelta(hours=1),
        promised_at=delivered + timedelta(hours=1),
        promise_revisions=1,
        delivered_at=delivered,
        advisor=Visit.objects.get().advisor or UserFactory(role="advisor", username="wang"),
    )
    for width, language in [(1024, "zh-hans"), (1366, "en")]:
        context = browser.new_context(viewport={"width": width, "height": 768})
        context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "pw-for-tests-1")
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}/reports/?preset=this_month")
        for tile in ("on_time", "on_time_revised", "promise_revision", "delivery_checklist"):
            expect(page.locator(f"#tile-{tile}")).to_be_visible()
        expect(page.locator("#tile-on_time")).to_contain_text("0%")
        expect(page.locator("#tile-on_time_revised")).to_contain_text("100%")
        expect(page.locator("#advisor-delivery")).to_contain_text("100%")
        no_sideways_scroll(page)
        page.screenshot(
            path=str(screenshot_dir / f"dashboard-promises-{language}-{width}.png"), full_page=True
        )
        page.click("#tile-promise_revision")
        expect(page.locator("#report-visits tbody tr")).to_have_count(1)
        context.close()
