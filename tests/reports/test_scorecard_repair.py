"""The advisor scorecard's repair figures (estimate_accuracy_rate, extra_work_approval_rate)
and their observations, per advisor, against test_repair_figures' independent computation
on its randomised shop."""

from datetime import date

import pytest
from rest_framework.test import APIClient

from tests.factories import UserFactory
from tests.reports.test_repair_figures import TODAY, at, expected, shop  # noqa: F401
from visits.models import WorkItem

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@pytest.mark.parametrize(
    ("start", "end"), [(date(2025, 11, 21), TODAY), (date(2026, 9, 1), date(2026, 9, 30))]
)
def test_the_scorecard_s_repair_figures_match_an_independent_computation(shop, start, end):  # noqa: F811
    client = APIClient()
    client.force_authenticate(UserFactory(role="manager", username="manager-sc"))
    answer = client.get("/api/v1/reports/advisors/", {"start": start, "end": end})
    assert answer.status_code == 200, answer.content
    cards = {card["advisor"]: card for card in answer.json()["advisors"]}
    since, until = at(start, 0), at(end, 24)
    advisors = {v.advisor for v in shop if v.advisor and since <= v.delivered_at < until}
    assert {user.username for user in advisors} == set(cards) and cards
    for user in advisors:
        card = cards[user.username]
        want = expected(shop, start, end, user.pk)
        for name in ("estimate_accuracy_rate", "extra_work_approval_rate"):
            if want[name] is None:
                assert card["figures"][name] is None, (user, name)
            else:
                assert card["figures"][name] == pytest.approx(float(want[name])), (user, name)
        mine = [v for v in shop if v.advisor == user and since <= v.delivered_at < until]
        answered = WorkItem.objects.filter(
            visit__in=mine, kind="extra", status__in=["approved", "declined", "deferred"]
        ).count()
        estimates = sum(v.estimated_amount is not None for v in mine)
        assert card["observations"]["estimate_accuracy_rate"] == estimates
        assert card["observations"]["extra_work_approval_rate"] == answered
        assert ("extra_work_approval_rate" in card["too_few_to_judge"]) == (answered < 10)
