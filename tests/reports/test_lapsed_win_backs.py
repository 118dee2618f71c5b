"""The lapsed list shows who already has a win-back call, and in what state (issue 16), so
a manager does not ask for a second one."""

import pytest
from django.urls import reverse
from django.utils import timezone

from followups import selectors as followup_selectors
from followups.models import FollowUpTask
from reports import selectors
from tests.reports.test_views import history  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db
S, OUT = FollowUpTask.Status, FollowUpTask.Outcome


def row_of(body: str, name: str) -> str:
    start = body.rindex("<tr>", 0, body.index(f">{name}</a>"))
    return body[start : body.index("</tr>", start)]


def test_the_lapsed_list_shows_each_customers_win_back_call(manager_client, history):  # noqa: F811
    lapsed, _active = history
    url = f"{reverse('reports:customers')}?state=lapsed"
    manager_client.get(url)  # the list as the manager saw it (the read brings the states up)
    manager_client.post(url, {"customer": [lapsed[0].pk, lapsed[1].pk]})
    done = FollowUpTask.objects.get(customer=lapsed[1], kind=FollowUpTask.Kind.WIN_BACK)
    FollowUpTask.objects.filter(pk=done.pk).update(status=S.DONE, outcome=OUT.REACHED_SATISFIED)

    body = manager_client.get(url).content.decode()
    waiting = row_of(body, lapsed[0].name)
    assert "待拨打" in waiting and "disabled" in waiting  # no second call for them
    finished = row_of(body, lapsed[1].name)
    assert "已完成" in finished and "已接通，满意" in finished and "disabled" not in finished
    assert reverse("followups:call", args=[done.pk]) in finished
    none_yet = row_of(body, lapsed[2].name)
    assert 'class="win-back"><span class="text-muted">—' in none_yet


def test_the_selector_gives_the_latest_win_back_per_customer(history):  # noqa: F811
    lapsed, _active = history
    rows = selectors.customers_behind(
        as_of=timezone.localdate(),
        state="lapsed",
        tier="",
    )
    assert {row["customer_id"]: row["win_back"] for row in rows} == {
        customer.pk: None for customer in lapsed
    }
    assert followup_selectors.win_back_calls(customer_ids=[]) == {}
