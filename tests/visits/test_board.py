"""The board at the reception desk (issue 16, "the reception desk on a tablet"): one tap moves
a car to its next state with an undo, late appointments are marked, the cars delivered today
stay on it, and its body can be fetched alone (the page refreshes itself every 30 s)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from shopcrm.errors import DomainError
from tests.factories import AppointmentFactory, UserFactory, VisitFactory
from visits import rules, services
from visits.models import Visit

pytestmark = pytest.mark.django_db
S = Visit.Status


def tap(client, visit, to_status):
    return client.post(
        reverse("visits:transition", args=[visit.pk]), {"to_status": to_status, "from": "board"}
    )


def test_one_tap_moves_a_car_on_and_the_undo_takes_it_back(advisor_client):
    visit = VisitFactory(status=S.CHECKED_IN)
    board = advisor_client.get(reverse("visits:board")).content.decode()
    assert 'name="to_status" value="in_progress"' in board and "→ 维修中" in board
    answer = tap(advisor_client, visit, S.IN_PROGRESS)
    assert answer["Location"] == reverse("visits:board")
    visit.refresh_from_db()
    assert visit.status == S.IN_PROGRESS
    board = advisor_client.get(reverse("visits:board")).content.decode()
    assert 'id="board-undo"' in board and visit.ro_number in board
    undone = advisor_client.post(reverse("visits:board_undo"), follow=True)
    assert "已撤销" in undone.content.decode()
    visit.refresh_from_db()
    assert visit.status == S.CHECKED_IN
    assert [h.status for h in visit.history.order_by("history_date")] == [
        S.CHECKED_IN,
        S.IN_PROGRESS,
        S.CHECKED_IN,
    ]
    # The undo is used up: a second post changes nothing.
    advisor_client.post(reverse("visits:board_undo"))
    visit.refresh_from_db()
    assert visit.status == S.CHECKED_IN


def test_a_ready_car_is_delivered_through_its_form_not_one_tap(advisor_client):
    visit = VisitFactory(status=S.READY)
    board = advisor_client.get(reverse("visits:board")).content.decode()
    assert f"{reverse('visits:detail', args=[visit.pk])}#deliver-form" in board
    tap(advisor_client, visit, S.DELIVERED)
    visit.refresh_from_db()
    assert visit.status == S.READY


def test_the_undo_is_refused_after_another_change_or_by_someone_else_or_too_late(advisor):
    visit = VisitFactory(status=S.CHECKED_IN)
    services.visit_transition(visit=visit, to_status=S.IN_PROGRESS, by=advisor)
    other = UserFactory(role="advisor", username="advisor-other")
    with pytest.raises(DomainError):
        services.visit_step_undo(visit=visit, from_status=S.CHECKED_IN, by=other)
    with pytest.raises(DomainError):
        services.visit_step_undo(
            visit=visit,
            from_status=S.CHECKED_IN,
            by=advisor,
            now=timezone.now() + rules.UNDO_WINDOW + timedelta(seconds=1),
        )
    services.visit_transition(visit=visit, to_status=S.QUALITY_CHECK, by=other)
    with pytest.raises(DomainError):  # it moved on since
        services.visit_step_undo(visit=visit, from_status=S.CHECKED_IN, by=advisor)
    with pytest.raises(DomainError):  # not a one-tap step back
        services.visit_step_undo(visit=visit, from_status=S.CHECKED_IN, by=other)
    visit.refresh_from_db()
    assert visit.status == S.QUALITY_CHECK


def test_late_appointments_are_marked_and_todays_deliveries_stay(advisor_client, monkeypatch):
    # At noon in the shop, whenever the tests run (40 minutes ago was yesterday after
    # midnight: the test used to skip itself then).
    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: noon)
    AppointmentFactory(scheduled_at=timezone.now() - timedelta(minutes=40))  # late
    AppointmentFactory(scheduled_at=timezone.now() + timedelta(minutes=40))
    delivered = VisitFactory(
        status=S.DELIVERED,
        checked_in_at=timezone.now() - timedelta(hours=1),
        delivered_at=timezone.now() - timedelta(minutes=1),
    )
    VisitFactory(
        status=S.DELIVERED,
        checked_in_at=timezone.now() - timedelta(days=2, hours=1),
        delivered_at=timezone.now() - timedelta(days=2),
    )
    body = advisor_client.get(reverse("visits:board"), {"part": "body"})
    html = body.content.decode()
    assert "<html" not in html  # the body alone, for the page's refresh
    assert 'id="overdue-appointments"' in html and "1 个已过预约时间" in html
    assert "已过 40 分钟" in html or "已过 39 分钟" in html
    delivered_column = html[html.index('id="delivered-today"') :]
    assert delivered.ro_number in delivered_column
    assert Visit.objects.filter(status=S.DELIVERED).count() == 2
    assert delivered_column.count("font-monospace") == 1  # not the one of two days ago


def test_an_agent_reads_the_board_without_the_step_buttons(client, agent):
    VisitFactory(status=S.CHECKED_IN)
    client.force_login(agent)
    answer = client.get(reverse("visits:board"))
    if answer.status_code == 200:
        assert "board-step" not in answer.content.decode()
    assert client.post(reverse("visits:board_undo")).status_code == 403


def test_the_delivered_column_shows_the_latest_eight_and_counts_the_rest(advisor_client):
    for minutes in range(10):
        VisitFactory(
            status=S.DELIVERED,
            checked_in_at=timezone.now() - timedelta(hours=2),
            delivered_at=timezone.now() - timedelta(seconds=minutes + 1),
        )
    html = advisor_client.get(reverse("visits:board"), {"part": "body"}).content.decode()
    column = html[html.index('id="delivered-today"') :]
    column = column[: column.index("</ul>")]
    assert column.count("font-monospace") == 8 and "还有 2 辆" in column
