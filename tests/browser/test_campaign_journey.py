"""A manager's recall in a real browser: from the user menu to the campaigns, a new recall
from a VIN file with a bad line, its progress page with the bad line listed, and the page
again once the beat has started it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, CampaignVehicle
from tests.factories import UserFactory, VehicleFactory, valid_vin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_creates_a_recall_from_a_vin_file(page, live_server, screenshot_dir, tmp_path):
    UserFactory(role="manager", username="manager-r", last_name="王", first_name="强")
    cars = [VehicleFactory(vin=valid_vin(8000 + n), model="GL8") for n in range(3)]
    vin_file = tmp_path / "recall.csv"
    lines = ["VIN,车型", *(f"{car.vin},GL8" for car in cars), "LSV12345", valid_vin(8100)]
    vin_file.write_bytes("\n".join(lines).encode("gbk"))

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "manager-r")
    page.fill("#id_password", "pw-for-tests-1")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    page.click("#user-menu")
    page.click("#campaigns-link")
    page.wait_for_url(lambda url: url.endswith("/campaigns/"))
    page.click("#new-campaign")
    page.wait_for_url(lambda url: url.endswith("/campaigns/new/"))

    page.fill("#id_name", "GL8 转向节召回")
    page.select_option("#id_kind", "recall")
    page.select_option("#id_audience", "vin_list")
    page.select_option("#id_channel", "call")
    page.fill("#id_ends_on", (timezone.localdate() + timedelta(days=30)).isoformat())
    page.set_input_files("#id_vin_file", str(vin_file))
    page.click("#preview-audience")
    page.wait_for_selector("#audience-preview")
    assert "目标客户 3 位" in page.inner_text("#audience-preview")
    assert not Campaign.objects.exists()  # the preview saves nothing

    page.set_input_files("#id_vin_file", str(vin_file))  # a file input is not kept
    page.click("#create-campaign")
    page.wait_for_url(lambda url: "/campaigns/" in url and not url.endswith("/new/"))
    recall = Campaign.objects.get()
    assert page.url.endswith(f"/campaigns/{recall.pk}/")
    assert CampaignVehicle.objects.filter(campaign=recall).count() == 3
    errors = page.inner_text("#vin-errors")
    assert "17 位" in errors and "本店没有这辆车" in errors
    assert "5" in errors and "6" in errors  # the line numbers
    page.screenshot(path=str(screenshot_dir / "campaign-created.png"), full_page=True)

    services.campaigns_run()  # the beat's sweep: the start time has come
    page.reload()
    assert page.inner_text("#campaign-status") == "进行中"
    assert page.inner_text("#figure-audience") == "3"
    assert page.inner_text("#figure-close-rate") == "0%"
    assert page.locator("#campaign-contacts tbody tr").count() == 3
    page.screenshot(path=str(screenshot_dir / "campaign-progress.png"), full_page=True)
