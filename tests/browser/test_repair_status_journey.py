"""The customer in the loop during the repair, in a real browser (issue 17): on a 390×844
phone over a slow mobile connection the customer opens the link of the extra-work message,
sees the progress and the photo, approves one item and declines another, sees the new total,
and after delivery the e-RO; on the 1024×768 reception tablet the advisor records the extra
work with a photo taken on the tablet and sees the answer arrive on the board without a
reload."""

from io import BytesIO

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.factories import UserFactory, VisitFactory
from visits import services, status, workitems
from visits.models import Visit, WorkItem

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def photo_bytes() -> bytes:
    out = BytesIO()
    Image.new("RGB", (1200, 900), (180, 40, 40)).save(out, format="JPEG")
    return out.getvalue()


def slow_phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(  # a slow 4G: 150 ms latency, 1.6 Mbit/s down, 750 kbit/s up
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 150,
            "downloadThroughput": 1_600_000 / 8,
            "uploadThroughput": 750_000 / 8,
        },
    )
    return context, page


def test_the_advisor_asks_and_the_customer_answers_from_the_phone(
    browser, live_server, screenshot_dir, tmp_path
):
    advisor = UserFactory(role="advisor", username="lina", last_name="李", first_name="娜")
    visit = VisitFactory(status=Visit.Status.IN_PROGRESS, advisor=advisor, estimated_amount=500)
    second = workitems.extra_work_request(
        visit=visit,
        description="雨刮片老化",
        labour_estimate="0",
        parts_estimate="80",
        urgency="can_wait",
        by=advisor,
    )

    # The advisor on the tablet: the found item with a photo taken on the tablet.
    tablet = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
    desk = tablet.new_page()
    desk.set_default_timeout(15_000)
    desk.goto(f"{live_server.url}/accounts/login/")
    desk.fill("#id_username", "lina")
    desk.fill("#id_password", "pw-for-tests-1")
    desk.click("button[type=submit]")
    desk.wait_for_url(f"{live_server.url}/board/")
    desk.goto(f"{live_server.url}/visits/{visit.pk}/")
    desk.click("#work-items summary")
    desk.fill("#id_description", "前刹车片剩余 2 mm，建议更换")
    desk.fill("#id_labour_estimate", "120")
    desk.fill("#id_parts_estimate", "380")
    desk.check("input[name=urgency][value=safety]")
    picture = tmp_path / "brake.jpg"
    picture.write_bytes(photo_bytes())
    desk.set_input_files("#id_photos", str(picture))
    desk.click("#send-extra-work")
    expect(desk.locator("#work-items")).to_contain_text("前刹车片剩余 2 mm")
    expect(desk.locator("#work-items .work-item-photo")).to_have_count(1)
    desk.screenshot(path=str(screenshot_dir / "extra-work-tablet-1024.png"), full_page=True)
    first = WorkItem.objects.get(description__startswith="前刹车片")
    desk.goto(f"{live_server.url}/board/")
    expect(desk.locator(f"[data-visit='{visit.pk}'] .awaiting-approval")).to_be_visible()

    # The customer, on a phone over a slow connection, opens the message's link.
    link = status.status_link_create(visit=visit)
    context, phone = slow_phone(browser)
    phone.goto(live_server.url + "/" + link.split("/", 3)[3])
    expect(phone.locator("#status-steps")).to_contain_text("维修中")
    expect(phone.locator(f"#work-item-{first.pk} img.photo")).to_be_visible()
    phone.screenshot(path=str(screenshot_dir / "status-phone-390-waiting.png"), full_page=True)
    phone.click(f"#work-item-{first.pk} button[value=approved]")
    expect(phone.locator(f"#work-item-{first.pk}")).to_contain_text("客户同意")
    phone.click(f"#work-item-{second.pk} button[value=declined]")
    expect(phone.locator(f"#work-item-{second.pk}")).to_contain_text("客户拒绝")
    expect(phone.locator("#status-estimate")).to_contain_text("¥1000.00")  # 500 + 500
    assert not phone.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )

    # The board picks the answers up by itself.
    desk.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(desk.locator(f"[data-visit='{visit.pk}'] .awaiting-approval")).to_have_count(0)
    tablet.close()

    # After delivery: the bill and the e-RO.
    visit.refresh_from_db()
    for step in ("quality_check", "ready"):
        services.visit_transition(visit=visit, to_status=step, by=advisor)
    services.visit_deliver(visit=visit, labour_amount=420, parts_amount=580, by=advisor)
    phone.reload()
    expect(phone.locator("#status-ero")).to_be_visible()
    expect(phone.locator("#status-bill")).to_contain_text("¥1000.00")
    phone.screenshot(path=str(screenshot_dir / "status-phone-390-delivered.png"), full_page=True)
    context.close()
    assert set(WorkItem.objects.values_list("status", flat=True)) == {"approved", "declined"}
    assert second.__class__.objects.get(pk=second.pk).recommendation.status == "open"
