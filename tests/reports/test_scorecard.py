"""The advisor scorecard (METRICS.md, "Advisor scorecard"; issue 19): its figures against an
independent computation written from METRICS.md on the correctness module's randomised shop
(the complaints linked to the advisor's visits counted here), the targets' colours, "too few
to judge", the drill-down, the export, the API, and who sees which card."""

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from complaints.models import Complaint
from reports import scorecard
from reports.models import ScorecardTarget
from shopcrm.people import person_name
from surveys.models import SurveyResponse
from tests.factories import UserFactory, VehicleFactory, VisitFactory
from tests.reports.test_correctness import PERIODS, expected_summary, same
from visits.models import Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
TZ = timezone.get_default_timezone()

# The figures the correctness module's independent computation gives per advisor.
FROM_SUMMARY = [
    "visits",
    "csi",
    "nps",
    "on_time_delivery_rate",
    "fixed_first_visit_rate",
    "followup_contact_rate_72h",
    "delivery_checklist_rate",
    "survey_responses",
]


def moment(day: date, hour: float) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min), TZ) + timedelta(hours=hour)


def expected_card(start: date, end: date, advisor_id: int) -> tuple[dict, dict]:
    """(figures, observations) of one advisor over the visits delivered in the period with
    them, from METRICS.md: the summary's figures restricted to the advisor, and the
    complaints linked to those visits per 100 of them."""
    summary = expected_summary(start, end, advisor=advisor_id)
    since, until = moment(start, 0), moment(end + timedelta(days=1), 0)
    mine = [
        v
        for v in Visit.objects.filter(status="delivered", advisor_id=advisor_id)
        if since <= v.delivered_at < until
    ]
    ids = {v.pk for v in mine}
    linked = sum(1 for c in Complaint.objects.all() if c.visit_id in ids)
    responses = [r for r in SurveyResponse.objects.all() if r.visit_id in ids]
    figures = {name: summary[name] for name in FROM_SUMMARY}
    figures["complaint_rate_per_100_visits"] = 100 * linked / len(mine) if mine else None
    observations = {
        "csi": sum(r.csi is not None for r in responses),
        "nps": sum(r.nps_score is not None for r in responses),
        "on_time_delivery_rate": sum(v.first_promised_at is not None for v in mine),
        "fixed_first_visit_rate": sum(v.service_type in ("repair", "warranty") for v in mine),
        "followup_contact_rate_72h": len(mine),
        "complaint_rate_per_100_visits": len(mine),
        "delivery_checklist_rate": len(mine),
    }
    return figures, observations


@pytest.mark.parametrize(("start", "end"), PERIODS[:3])
def test_each_advisor_s_figures_match_an_independent_computation(shop, start, end):
    client = APIClient()
    client.force_authenticate(UserFactory(role="manager", username="boss-sc"))
    answer = client.get("/api/v1/reports/advisors/", {"start": start, "end": end})
    assert answer.status_code == 200, answer.content
    cards = {card["advisor"]: card for card in answer.json()["advisors"]}
    since, until = moment(start, 0), moment(end + timedelta(days=1), 0)
    with_visits = {
        v.advisor.username
        for v in Visit.objects.filter(status="delivered", advisor__isnull=False)
        if since <= v.delivered_at < until
    }
    assert set(cards) == with_visits and with_visits
    for advisor in shop:
        if advisor.username not in cards:
            continue
        figures, observations = expected_card(start, end, advisor.pk)
        card = cards[advisor.username]
        same(card["figures"], figures, advisor.username)
        for name, count in observations.items():
            assert card["observations"][name] == count, (advisor.username, name)
            too_few = name in card["too_few_to_judge"]
            assert too_few == (count < scorecard.MIN_OBSERVATIONS), (advisor.username, name)


def test_the_complaint_drill_down_lists_the_visits_with_a_linked_complaint(shop, client):
    start, end = PERIODS[0]
    client.force_login(UserFactory(role="manager", username="boss-sc"))
    advisor = shop[0]
    query = {
        "preset": "custom",
        "start": start,
        "end": end,
        "advisor": advisor.pk,
        "complained": 1,
    }
    exported = client.get(reverse("reports:visits_csv"), query)
    lines = exported.content.decode("utf-8-sig").splitlines()[1:]
    since, until = moment(start, 0), moment(end + timedelta(days=1), 0)
    complained = {c.visit_id for c in Complaint.objects.filter(visit__isnull=False)}
    want = {
        v.ro_number
        for v in Visit.objects.filter(status="delivered", advisor=advisor)
        if since <= v.delivered_at < until and v.pk in complained
    }
    assert want and {line.split(",")[0] for line in lines} == want


# ---------------------------------------------------------------- a small shop, built by hand

TODAY = date(2026, 11, 20)


@pytest.fixture
def small_shop(monkeypatch):
    """Advisor A: 24 maintenance visits delivered every other day from 4 October to 19
    November (10 of them in November), the 3 latest late (87.5 % on time; 70 % in November),
    all with a complete checklist. Advisor B: 3 visits, all on time — too few to judge."""
    now = moment(TODAY, 18)
    monkeypatch.setattr(timezone, "now", lambda: now)
    a = UserFactory(role="advisor", username="adv-a")
    a.first_name, a.last_name = "明", "王"
    a.save()
    b = UserFactory(role="advisor", username="adv-b")
    vehicle = VehicleFactory()

    def deliver(advisor, n, late):
        for i in range(n):
            day = TODAY - timedelta(days=1 + 2 * i)
            promised = moment(day, 12)
            VisitFactory(
                vehicle=vehicle,
                customer=vehicle.owner,
                advisor=advisor,
                status=Visit.Status.DELIVERED,
                checked_in_at=moment(day, 9),
                promised_at=promised,
                first_promised_at=promised,
                delivered_at=promised + timedelta(hours=2 if i < late else -1),
                **dict.fromkeys(Visit.CHECKLIST, True),
            )

    deliver(a, 24, late=3)
    deliver(b, 3, late=0)
    return a, b


QUERY = {"preset": "custom", "start": "2026-10-01", "end": "2026-11-20"}


def cell(page: str, advisor, figure: str) -> str:
    row = page[page.index(f'data-advisor="{advisor.pk}"') :].split("</tr>")[0]
    start = row.index(f'data-figure="{figure}"')
    return row[row.rindex("<td", 0, start) : row.index("</td>", start)]


def test_targets_colour_the_cells_and_few_observations_are_not_judged(small_shop, client):
    a, b = small_shop
    client.force_login(UserFactory(role="manager", username="boss-sc"))
    page = client.get(reverse("reports:advisors"), QUERY).content.decode()
    # The seeded default: on time ≥ 90 %; A's 87.5 % misses it, in red.
    on_time = cell(page, a, "on_time_delivery_rate")
    assert "87.5%" in on_time and "table-danger" in on_time and 'data-verdict="missed"' in on_time
    # No target for the checklist: shown, not coloured.
    checklist = cell(page, a, "delivery_checklist_rate")
    assert "100.0%" in checklist and 'data-verdict=""' in checklist and "table-" not in checklist
    # B's 3 visits: shown, marked, never judged.
    few = cell(page, b, "on_time_delivery_rate")
    assert "100.0%" in few and 'data-too-few="1"' in few and 'data-verdict=""' in few
    assert "table-success" not in few
    # A target edited in the admin changes the colour.
    ScorecardTarget.objects.filter(figure="on_time_delivery_rate").update(value=Decimal("80"))
    page = client.get(reverse("reports:advisors"), QUERY).content.decode()
    assert "table-success" in cell(page, a, "on_time_delivery_rate")
    assert "≥ 80%" in page


def test_the_default_targets_are_metrics_md_s():
    assert {t.figure: (t.direction, t.value) for t in ScorecardTarget.objects.all()} == {
        "csi": ("at_least", Decimal("85")),
        "fixed_first_visit_rate": ("at_least", Decimal("95")),
        "on_time_delivery_rate": ("at_least", Decimal("90")),
        "followup_contact_rate_72h": ("at_least", Decimal("90")),
    }


def test_a_red_cell_opens_exactly_the_visits_behind_it(small_shop, client):
    a, _b = small_shop
    client.force_login(UserFactory(role="manager", username="boss-sc"))
    page = client.get(reverse("reports:advisors"), QUERY).content.decode()
    on_time = cell(page, a, "on_time_delivery_rate")
    link = on_time[on_time.index('href="') + 6 :].split('"')[0].replace("&amp;", "&")
    assert link.startswith(reverse("reports:visits")) and "late=1" in link
    behind = client.get(link)
    assert behind.status_code == 200
    assert len(behind.context["rows"]) == 3
    assert {v.advisor_id for v in behind.context["rows"]} == {a.pk}


def test_the_export_has_the_page_s_figures(small_shop, client):
    a, b = small_shop
    client.force_login(UserFactory(role="manager", username="boss-sc"))
    exported = client.get(reverse("reports:advisors_csv"), QUERY)
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    header, body = rows[0], {row[0]: row for row in rows[1:]}
    assert set(body) == {person_name(a), person_name(b)}
    on_time = header.index("按时交车率")
    assert body[person_name(a)][on_time] == "87.5%"
    assert body[person_name(a)][on_time + 1] == "24"  # its observations
    assert body[person_name(b)][header.index("交车台次")] == "3"
    book = client.get(reverse("reports:advisors_xlsx"), QUERY)
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == sorted([person_name(a), person_name(b)])


def test_an_advisor_sees_only_their_own_card(small_shop, client):
    a, b = small_shop
    client.force_login(a)
    page = client.get(reverse("reports:advisors"), QUERY)
    assert page.status_code == 200
    html = page.content.decode()
    assert f'data-advisor="{a.pk}"' in html and f'data-advisor="{b.pk}"' not in html
    assert 'href="/reports/visits/' not in html  # no drill-down into the manager's pages
    # Asking for another advisor's row: refused, page and export alike.
    other = {**QUERY, "advisor": b.pk}
    assert client.get(reverse("reports:advisors"), other).status_code == 403
    assert client.get(reverse("reports:advisors_csv"), other).status_code == 403
    # Asking for their own is fine; the export holds only their row.
    own = client.get(reverse("reports:advisors_csv"), {**QUERY, "advisor": a.pk})
    lines = own.content.decode("utf-8-sig").splitlines()[1:]
    assert [line.split(",")[0] for line in lines] == [person_name(a)]
    lines = client.get(reverse("reports:advisors_csv"), QUERY).content.decode("utf-8-sig")
    assert person_name(b) not in lines


def test_the_advisor_s_landing_page_shows_their_card_and_no_one_else_s(small_shop, client):
    a, _b = small_shop
    client.force_login(a)
    landing = client.get(reverse("home"), follow=True)
    html = landing.content.decode()
    assert 'id="own-scorecard"' in html
    card = html[html.index('id="own-scorecard"') :]
    assert 'data-figure="on_time_delivery_rate" data-verdict="missed"' in card
    assert "70.0%" in card and "90%" in card  # November's figure and its target
    # A manager lands on the board too, without a card of their own.
    client.force_login(UserFactory(role="manager", username="boss-sc"))
    assert 'id="own-scorecard"' not in client.get(reverse("visits:board")).content.decode()


def test_the_api_gives_an_advisor_only_their_own_card(small_shop):
    a, b = small_shop
    api = APIClient()
    api.force_authenticate(a)
    query = {"start": "2026-10-01", "end": "2026-11-20"}
    answer = api.get("/api/v1/reports/advisors/", query)
    assert answer.status_code == 200
    cards = answer.json()["advisors"]
    assert [card["advisor"] for card in cards] == [a.username]
    assert cards[0]["figures"]["on_time_delivery_rate"] == pytest.approx(21 / 24)
    assert cards[0]["targets"]["on_time_delivery_rate"] == {
        "direction": "at_least",
        "value": 90.0,
        "verdict": "missed",
    }
    assert api.get("/api/v1/reports/advisors/", {**query, "advisor": b.username}).status_code == 403
    assert api.get("/api/v1/reports/advisors/", {**query, "advisor": a.username}).status_code == 200
    api.force_authenticate(UserFactory(role="agent", username="agent-sc"))
    assert api.get("/api/v1/reports/advisors/", query).status_code == 403
    api.force_authenticate(UserFactory(role="manager", username="boss-sc"))
    answer = api.get("/api/v1/reports/advisors/", query).json()
    assert {card["advisor"] for card in answer["advisors"]} == {a.username, b.username}
    few = next(card for card in answer["advisors"] if card["advisor"] == b.username)
    assert "on_time_delivery_rate" in few["too_few_to_judge"]
    assert few["targets"]["on_time_delivery_rate"]["verdict"] == ""


def test_who_may_not_read_the_scorecard_is_refused(small_shop, client):
    client.force_login(UserFactory(role="agent", username="agent-sc"))
    assert client.get(reverse("reports:advisors"), QUERY).status_code == 403
    assert client.get(reverse("reports:advisors_csv"), QUERY).status_code == 403
    client.logout()
    assert client.get(reverse("reports:advisors")).status_code == 302  # to the login page


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"start": "2026-11-20", "end": "2026-11-01"}, "end"),
        ({"start": "2026-13-01", "end": "2026-11-01"}, "start"),
        ({"start": "2026-11-01", "end": "2026-11-20", "advisor": "nobody"}, "advisor"),
        ({"end": "2026-11-20"}, "start"),
    ],
)
def test_bad_api_parameters_are_400_with_a_message(small_shop, query, field):
    api = APIClient()
    api.force_authenticate(UserFactory(role="manager", username="boss-sc"))
    answer = api.get("/api/v1/reports/advisors/", query)
    assert answer.status_code == 400 and answer.json()[field]


def test_a_bad_period_on_the_page_is_400_and_exports_nothing(small_shop, client):
    client.force_login(UserFactory(role="manager", username="boss-sc"))
    bad = {"preset": "custom", "start": "2026-11-20", "end": "2026-11-01"}
    page = client.get(reverse("reports:advisors"), bad)
    assert page.status_code == 400 and "结束日期不能早于开始日期" in page.content.decode()
    assert client.get(reverse("reports:advisors_csv"), bad).status_code == 400


def test_the_sparkline_follows_the_monthly_values(small_shop, client):
    a, _b = small_shop
    period = scorecard.metrics.Period(start=date(2026, 11, 1), end=TODAY)
    series = scorecard.monthly(period, [a.pk])[a.pk]
    assert series["visits"] == [None, None, None, None, 14, 10]
    assert [m[0] for m in scorecard.months_before(TODAY, 6)] == [
        date(2026, 6, 1),
        date(2026, 7, 1),
        date(2026, 8, 1),
        date(2026, 9, 1),
        date(2026, 10, 1),
        date(2026, 11, 1),
    ]
    client.force_login(UserFactory(role="manager", username="boss-sc"))
    page = client.get(reverse("reports:advisors"), QUERY).content.decode()
    assert '<svg class="sparkline"' in cell(page, a, "visits")


def test_the_sparkline_s_points():
    from reports.views import sparkline

    assert sparkline([None, None, 0.5], "rate") == ""  # one value: no line
    assert sparkline([0.0, None, 1.0], "rate") == "0.0,15.0 60.0,1.0"  # low at the bottom
    assert sparkline([3, 3], "count") == "0.0,8.0 60.0,8.0"  # flat: through the middle
