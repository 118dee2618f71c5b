"""No page of the staff's scrolls sideways at the desk's and the reception tablet's widths,
in Chinese and in English, whatever the role's menus (the manager has the most): the top
bar wraps rather than pushing the page wider (it did in English at 1024 px)."""

import pytest

from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDE = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


@pytest.mark.parametrize("width", [1366, 1024])
def test_the_top_bar_never_pushes_the_page_sideways(browser, live_server, screenshot_dir, width):
    UserFactory(role="manager", username="manager-w", last_name="欧阳", first_name="建国")
    for language in ("zh-hans", "en"):
        context = browser.new_context(viewport={"width": width, "height": 768})
        context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", "manager-w")
        page.fill("#id_password", "pw-for-tests-1")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        for path in ("/", "/calls/team/", "/surveys/", "/complaints/"):
            page.goto(f"{live_server.url}{path}")
            assert not page.evaluate(WIDE), (language, width, path)
            assert page.is_visible("#nav-search") and page.is_visible("#notification-bell")
        page.screenshot(path=str(screenshot_dir / f"top-bar-{language}-{width}.png"))
        context.close()
