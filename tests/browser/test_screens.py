"""The screenshot check (issue 16): every page of every role — the desk's 1366 px and the
reception tablet's 1024 px, in Chinese and in English — and the public pages on a phone,
opened in a real browser and saved as PNG files (``test-artifacts/screens/``).

A page fails when it scrolls sideways, when a label of the top bar breaks onto a second
line (a Chinese label between two characters, an English one inside a word), when the
search box is squeezed below a usable width or the language select cannot show its text.
The pages come from the URLconfs: a new route fails ``test_every_route_is_screened``
until it is listed here as a page or excluded with a reason."""

import shutil
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

from followups.booking_links import booking_link
from followups.models import FollowUpTask
from messaging.backends import LocmemBackend
from messaging.models import Message
from onlinebooking import services as booking_services
from surveys import services as survey_services
from surveys.models import SurveyInvitation
from tests import test_access_matrix
from tests.browser.conftest import ARTIFACTS
from tests.factories import (
    AppointmentFactory,
    UserFactory,
    VehicleFactory,
    VisitFactory,
    contact_all_day,
)
from tests.surveys.conftest import make_delivered_visit
from visits import status as repair_status

shop = test_access_matrix.shop  # the objects the pages with an id show

ROLES = ["advisor", "agent", "manager", "admin"]
LANGUAGES = ["zh-hans", "en"]
STAFF_WIDTHS = [1366, 1024]
PASSWORD = "pw-for-tests-1"

# Staff pages: URL name → the shop's object its id names (None: no id), and a query string.
STAFF_PAGES = {
    "home": (None, ""),
    "customers:search": (None, "?q=8"),
    "customers:create": (None, ""),
    "customers:detail": ("customer", ""),
    "customers:edit": ("customer", ""),
    "customers:vehicle_create": ("customer", ""),
    "customers:merge": ("customer", ""),
    "visits:board": (None, ""),
    "visits:check_in": (None, ""),
    "visits:detail": ("visit", ""),
    "visits:print": ("visit", ""),
    "visits:appointment_create": ("vehicle", ""),
    "visits:appointment_cancel": ("appointment", ""),
    "followups:queue": (None, ""),
    "followups:team": (None, ""),
    "followups:call": ("task", ""),
    "surveys:list": (None, ""),
    "surveys:detail": ("response", ""),
    "complaints:list": (None, ""),
    "complaints:mine": (None, ""),
    "complaints:create": (None, ""),
    "complaints:detail": ("complaint", ""),
    "complaints:complete": ("complaint", ""),
    "complaints:notifications": (None, ""),
    "reports:dashboard": (None, ""),
    "reports:advisors": (None, ""),
    "reports:visits": (None, ""),
    "reports:customers": (None, ""),
    "reports:vehicles": (None, ""),
    "reports:service_due": (None, ""),
    "reports:reminders": (None, ""),
    "reports:lost_calls": (None, "?reason=price"),
    "customers:advisors": (None, ""),
    "textinsights:comments": (None, "?preset=last_12_months&term=刹车片"),
    "privacy:erase": ("customer", ""),
    "messaging:undelivered": (None, ""),
    "messaging:replies": (None, ""),
    "digest:latest": (None, ""),
    "campaigns:list": (None, ""),
    "campaigns:create": (None, ""),
    "campaigns:detail": ("campaign", ""),
    "admin:index": (None, ""),
}
# Public pages, on a phone: the login, the customer's survey and what a link may end on.
PUBLIC_PAGES = {
    "login",
    "surveys:survey",
    "surveys:thanks",
    "visits:status",
    "messaging:wechat_callback",
    # The booking pages (issue 18); the code and slot steps need a session's earlier step:
    # tests/browser/test_booking_journey.py screenshots them on the phone.
    "onlinebooking:start",
    "onlinebooking:from_link",
    "onlinebooking:code",
    "onlinebooking:slot",
    "onlinebooking:manage",
}
EXCLUDED = {
    "logout": "POST only: signs out",
    "set_language": "POST only: the language switch (checked on every page's top bar)",
    "surveys:export_csv": "a file download, not a page",
    "surveys:export_xlsx": "a file download, not a page",
    "complaints:export_csv": "a file download, not a page",
    "complaints:export_xlsx": "a file download, not a page",
    "reports:advisors_csv": "a file download, not a page",
    "reports:advisors_xlsx": "a file download, not a page",
    "reports:visits_csv": "a file download, not a page",
    "reports:visits_xlsx": "a file download, not a page",
    "reports:customers_csv": "a file download, not a page",
    "reports:customers_xlsx": "a file download, not a page",
    "reports:vehicles_csv": "a file download, not a page",
    "reports:service_due_csv": "a file download, not a page",
    "reports:service_due_xlsx": "a file download, not a page",
    "reports:reminders_csv": "a file download, not a page",
    "reports:lost_calls_csv": "a file download, not a page",
    "reports:export_csv": "a file download, not a page",
    "reports:export_xlsx": "a file download, not a page",
    "visits:photo": "a work item's photo (an image), shown on the visit page",
    "visits:status_photo": "a work item's photo (an image), shown on the status page",
    "visits:status_answer": "POST only: the customer's answer, then back to the status page",
    "messaging:wechat_bind": "a redirect to WeChat's authorization (a bad offer: the callback's page)",
    "onlinebooking:reschedule": "POST only: the new time, then back to the manage page",
    "onlinebooking:cancel": "POST only: the cancellation, then back to the manage page",
    "digest:day": "one recipient's day: the template of digest:latest (tests/digest)",
}
# Whole namespaces that are not our pages.
EXCLUDED_NAMESPACES = {
    "api": "JSON for the DMS and the hotline; its docs page is Swagger's own layout",
    "admin": "Django's admin keeps its own responsive stylesheet; its index is screened",
}


def named_routes():
    """(name, view) of every named route, the admin's and the API's included."""

    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                yield name, pattern.callback

    return dict(walk(get_resolver().url_patterns))


def post_only(view) -> bool:
    """A class-based view without ``get`` is an action behind a form, not a page."""
    view_class = getattr(view, "view_class", None)
    return view_class is not None and not hasattr(view_class, "get")


@pytest.fixture(scope="module")
def screens():
    """This run's screenshots only: test-artifacts/screens/<role>-<language>-<width>-<page>.png."""
    directory = ARTIFACTS / "screens"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def test_every_route_is_screened():
    unscreened = {
        name
        for name, view in named_routes().items()
        if name not in STAFF_PAGES
        and name not in PUBLIC_PAGES
        and name not in EXCLUDED
        and name.split(":")[0] not in EXCLUDED_NAMESPACES
        and not post_only(view)
    }
    assert not unscreened, f"add these to STAFF_PAGES, PUBLIC_PAGES or EXCLUDED: {unscreened}"
    assert not (set(STAFF_PAGES) | PUBLIC_PAGES | set(EXCLUDED)) - set(named_routes())  # stale


# Everything the check measures, in the page (CDP evaluation: the CSP does not apply).
PROBLEMS = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) {
    problems.push(`scrolls sideways: ${root.scrollWidth} > ${root.clientWidth}`);
  }
  const visible = (el) => el.getClientRects().length > 0 &&
    getComputedStyle(el).visibility !== "hidden";
  const lines = (el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0)
      .sort((a, b) => a.top - b.top);
    // A rect that starts below the first one's bottom is on another line.
    return rects.length ? 1 + rects.filter((r) => r.top >= rects[0].bottom - 1).length : 0;
  };
  const nav = document.querySelector("nav.navbar");
  if (nav) {
    for (const el of nav.querySelectorAll("a, button, .navbar-text")) {
      if (visible(el) && lines(el) > 1) {
        problems.push(`top bar label wraps: "${el.textContent.trim()}"`);
      }
    }
    // The bar's own rows: the tools on one, and (unless folded into the menu button) the
    // pages' links on one — not scattered over several.
    const oneRow = (selector, what) => {
      const rects = [...nav.querySelectorAll(selector)].filter(visible)
        .map((el) => el.getBoundingClientRect());
      const apart = (a, b) => a.top >= b.bottom - 1 || b.top >= a.bottom - 1;
      if (rects.some((a) => rects.some((b) => apart(a, b)))) {
        problems.push(`top bar: ${what} spread over several rows`);
      }
    };
    oneRow(".navbar-brand, #nav-search, select[name=language], #notification-bell", "the tools");
    if (!visible(nav.querySelector(".navbar-toggler"))) {
      oneRow("#mainnav .nav-link", "the pages");
      if (nav.offsetHeight > 112) problems.push(`top bar ${nav.offsetHeight}px high`);
    }
    const search = nav.querySelector("#nav-search");
    if (search && (!visible(search) || search.clientWidth < 160)) {
      problems.push(`search box squeezed: ${search.clientWidth}px`);
    }
    const select = nav.querySelector("select[name=language]");
    if (select && visible(select)) {
      const style = getComputedStyle(select);
      const context = document.createElement("canvas").getContext("2d");
      context.font = style.font;
      const text = select.selectedOptions[0].text;
      const needed = context.measureText(text).width + parseFloat(style.paddingLeft) +
        parseFloat(style.paddingRight);
      if (select.clientWidth + 1 < needed) {
        problems.push(`language select cut: ${select.clientWidth}px < ${Math.ceil(needed)}px`);
      }
    }
  }
  for (const el of document.querySelectorAll("main .btn, main .badge, main .plate")) {
    if (visible(el) && lines(el) > 1) {
      problems.push(`${el.className.split(" ")[0]} wraps: "${el.textContent.trim()}"`);
    }
  }
  return problems;
}"""


SETTLED = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


def screened(page, shot, problems, label):
    for problem in page.evaluate(PROBLEMS):
        problems.append(f"{label}: {problem}")
    page.screenshot(path=str(shot), full_page=True)


def staff_url(name, objects):
    kind, query = STAFF_PAGES[name]
    if kind is None:
        return reverse(name) + query
    key = "vehicle_pk" if name == "visits:appointment_create" else "pk"
    return reverse(name, kwargs={key: objects[kind].pk}) + query


def may_open(user, name, objects) -> bool:
    """The role's pages: what its permissions open (the admin's index: staff only)."""
    if name == "admin:index":
        return user.is_staff
    if name == "complaints:complete":  # the object decides: its taker, assignee or a manager
        return user.has_perm("complaints.manage_complaint")
    if name == "reports:advisors":  # every advisor's card, or only one's own (issue 19)
        return user.has_perm("reports.view_reports") or user.has_perm("reports.view_own_scorecard")
    view_class = getattr(resolve(staff_url(name, objects).split("?")[0]).func, "view_class", None)
    required = getattr(view_class, "permission_required", None)
    if required is None:
        return True
    return user.has_perms([required] if isinstance(required, str) else required)


def signed_in_context(browser, live_server, username, language, width, height=768):
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return context, page


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("role", ROLES)
def test_every_staff_page_fits(browser, live_server, screens, shop, role):
    user = UserFactory(role=role, username=f"screen-{role}", last_name="欧阳", first_name="建国")
    # The agent's own call, so the call page opens for them (another's is refused).
    FollowUpTask.objects.filter(pk=shop["task"].pk).update(
        assigned_to=user if role == "agent" else shop["task"].assigned_to,
        lease_expires_at=timezone.now() + timedelta(hours=1),
    )
    pages = [name for name in STAFF_PAGES if may_open(user, name, shop)]
    directory = screens
    problems = []
    for language in LANGUAGES:
        context, page = signed_in_context(browser, live_server, user.username, language, 1366)
        for name in pages:
            response = page.goto(live_server.url + staff_url(name, shop))
            assert response.status == 200, (role, name, response.status)
            for width in STAFF_WIDTHS:
                page.set_viewport_size({"width": width, "height": 768})
                page.evaluate(SETTLED)  # the resize handlers (the charts) have run
                slug = name.replace(":", "-")
                screened(
                    page,
                    directory / f"{role}-{language}-{width}-{slug}.png",
                    problems,
                    f"{role} {language} {width} {name}",
                )
        # The portrait tablet: the menu folds away, and opened its labels stay whole.
        page.set_viewport_size({"width": 768, "height": 1024})
        page.goto(live_server.url + "/")
        if page.is_visible(".navbar-toggler"):
            page.click(".navbar-toggler")
            page.locator("#mainnav.show").wait_for()
        screened(
            page,
            directory / f"{role}-{language}-768-menu.png",
            problems,
            f"{role} {language} 768 menu",
        )
        context.close()
    assert not problems, "\n".join(problems)


def survey_links(live_server):
    """An open link and an answered one (its thanks page), as the customers got them."""
    contact_all_day()
    LocmemBackend.outbox.clear()
    links = []
    for name in ("周婷", "王芳"):
        visit = make_delivered_visit(hours_ago=30, name=name)
        survey_services.invitation_create_for_visit(visit_id=visit.pk)
        survey_services.invitation_sweep_due()
        message = Message.objects.filter(purpose="survey_invitation").latest("pk")
        sent = [m for m in LocmemBackend.outbox if m.pk == message.pk]
        links.append(
            live_server.url + "/" + (sent[0] if sent else message).params["link"].split("/", 3)[3]
        )
    SurveyInvitation.objects.filter(pk=SurveyInvitation.objects.latest("pk").pk).update(
        status=SurveyInvitation.Status.COMPLETED
    )
    return links


def booking_pages(live_server) -> dict:
    """The booking page, a reminder's booking link and a booking's manage page."""
    vehicle = VehicleFactory(plate="沪AD12345")
    appointment = AppointmentFactory(
        vehicle=vehicle, scheduled_at=timezone.now() + timedelta(days=2), notes="左前轮异响"
    )
    manage = booking_services.manage_link_create(appointment=appointment)
    reminder = booking_link(vehicle_id=vehicle.pk, suggested=timezone.localdate())
    return {
        "booking": (f"{live_server.url}/book/", 200),
        "booking-from-reminder": (live_server.url + "/" + reminder.split("/", 3)[3], 200),
        "booking-manage": (live_server.url + "/" + manage.split("/", 3)[3], 200),
        "booking-invalid-link": (f"{live_server.url}/book/m/not-a-real-token/", 404),
    }


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_every_public_page_fits_a_phone(browser, live_server, screens):
    open_link, answered_link = survey_links(live_server)
    in_the_shop = VisitFactory(concern="保养；左前轮异响，请检查刹车片和轮毂轴承。" * 3)
    status_path = "/" + repair_status.status_link_create(visit=in_the_shop).split("/", 3)[3]
    pages = {
        "repair-status": (live_server.url + status_path, 200),
        "repair-status-invalid-link": (f"{live_server.url}/r/not-a-real-token/", 404),
        "login": (f"{live_server.url}/accounts/login/", 200),
        "survey": (open_link, 200),
        "survey-thanks": (answered_link.rstrip("/") + "/thanks/", 200),
        "survey-answered": (answered_link, 200),
        "survey-invalid-link": (f"{live_server.url}/s/not-a-real-token/", 404),
        "wechat-bind-invalid": (f"{live_server.url}/wechat/callback/?state=forged", 400),
        "not-found": (f"{live_server.url}/no-such-page/", 404),
        **booking_pages(live_server),
    }
    directory = screens
    problems = []
    for language in LANGUAGES:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url}]
        )
        page = context.new_page()
        page.set_default_timeout(15_000)
        for slug, (url, status) in pages.items():
            response = page.goto(url)
            assert response.status == status, (slug, response.status)
            screened(
                page,
                directory / f"public-{language}-390-{slug}.png",
                problems,
                f"{language} {slug}",
            )
        context.close()
    assert not problems, "\n".join(problems)
