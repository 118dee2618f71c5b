"""The daily figures behind the period summary (reports/daily.py): every change that moves a
day's figures is logged by a trigger, a read brings the days up to date first, the
incremental refresh gives exactly what a rebuild from scratch gives, and the direct
computation (SQLite) gives what the table gives."""

import threading
from datetime import date, timedelta

import pytest
from django.db import connection
from django.db.models import Exists, F, Q
from django.utils import timezone

from followups.models import CallAttempt, FollowUpTask
from reports import daily, dashboard, figures, metrics
from reports.models import DAY_LOG_PROXIES, DAY_TRIGGERS, CallDayLog, DailyFigures, DayChange
from surveys.models import SurveyInvitation, SurveyResponse
from tests.reports.test_correctness import (
    TODAY,
    expected_correlations,
    expected_funnel,
    expected_summary,
    moment,
    same,
)
from tests.reports.test_states import installed
from visits.models import PromiseRevision, Visit
from visits.rules import COMEBACK_WINDOW, REPAIR_TYPES

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
HISTORY = (date(2024, 1, 1), TODAY)


def snapshot():
    """The table's rows; sums rounded (PostgreSQL may add a day's floats in another order)."""
    rows = set()
    for row in DailyFigures.objects.values_list(*daily.KEY, *daily.COLUMNS):
        rows.add(tuple(round(value, 6) if isinstance(value, float) else value for value in row))
    return rows


def rebuilt():
    daily.rebuild()
    return snapshot()


def summary_of(reader, start, end):
    answer = reader.get("/api/v1/reports/summary/", {"start": start, "end": end})
    assert answer.status_code == 200, answer.json()
    return answer.json()


def check(reader, start=HISTORY[0], end=HISTORY[1]):
    same(summary_of(reader, start, end), expected_summary(start, end))


def untouched_delivered(**filters):
    """A delivered visit with no responses, invitations, tasks or complaints."""
    return (
        Visit.objects.filter(status=Visit.Status.DELIVERED, **filters)
        .filter(
            survey_responses__isnull=True,
            survey_invitation__isnull=True,
            follow_up_tasks__isnull=True,
            complaints__isnull=True,
        )
        .order_by("pk")
        .first()
    )


def sole_reaching_call():
    """A call that alone makes its visit contacted within 72 hours."""
    calls = CallAttempt.objects.filter(
        outcome__in=metrics.REACHED,
        task__kind=FollowUpTask.Kind.POST_SERVICE,
        task__visit__status=Visit.Status.DELIVERED,
    )
    for call in calls.select_related("task__visit").order_by("pk"):
        delivered_at = call.task.visit.delivered_at
        if call.ended_at <= delivered_at + timedelta(hours=72) and not (
            calls.filter(task__visit=call.task.visit_id).exclude(pk=call.pk).exists()
        ):
            return call
    raise AssertionError("no such call")


def test_every_kind_of_change_is_picked_up_and_equals_a_rebuild(shop, reader):
    daily.refresh()
    assert not DayChange.objects.exists()
    check(reader)

    # A visit delivered today; another's promise, appointment, advisor and type changed; one
    # moved to another day, one cancelled, one deleted.
    visit = untouched_delivered(delivered_at__date__lt=TODAY - timedelta(days=40))
    Visit.objects.create(
        vehicle=visit.vehicle,
        customer=visit.customer,
        ro_number="RO-D-NEW",
        service_type="maintenance",
        status=Visit.Status.DELIVERED,
        checked_in_at=moment(TODAY, 9),
        delivered_at=moment(TODAY, 11),
        promised_at=moment(TODAY, 12),
    )
    assert summary_of(reader, TODAY, TODAY)["visits"] == expected_summary(TODAY, TODAY)["visits"]
    changed = Visit.objects.filter(status=Visit.Status.DELIVERED).order_by("pk")
    first, second, third, fourth = changed[10], changed[20], changed[30], changed[40]
    first.promised_at = first.delivered_at - timedelta(minutes=1)
    first.by_appointment = not first.by_appointment
    first.save()
    second.advisor = None
    second.service_type = "repair" if second.service_type != "repair" else "maintenance"
    second.save()
    Visit.objects.filter(pk=third.pk).update(delivered_at=third.delivered_at + timedelta(days=9))
    Visit.objects.filter(pk=fourth.pk).update(status=Visit.Status.CANCELLED)
    untouched_delivered(pk__gt=visit.pk).delete()
    check(reader)

    # The first promise, a revision and the delivery checklist of delivered visits.
    fifth, sixth, seventh = changed[50], changed[60], changed[70]
    Visit.objects.filter(pk=fifth.pk).update(
        first_promised_at=fifth.delivered_at - timedelta(minutes=5)
    )
    # (as visits.services.visit_promise_revise writes it: the row and the visit's count)
    PromiseRevision.objects.create(
        visit=sixth, to_promised_at=sixth.promised_at or sixth.delivered_at, reason="other"
    )
    Visit.objects.filter(pk=sixth.pk).update(promise_revisions=F("promise_revisions") + 1)
    Visit.objects.filter(pk=seventh.pk).update(
        checklist_car_cleaned=not seventh.checklist_car_cleaned
    )
    assert DayChange.objects.count() >= 6  # each visit's day, old and new row
    check(reader)

    # A repair checked in 10 days after a delivered repair of the same vehicle makes it a
    # comeback; checked in 40 days after, it does not; deleted, it never was.
    repair = (
        Visit.objects.filter(
            status=Visit.Status.DELIVERED,
            service_type="repair",
            delivered_at__lt=moment(TODAY - timedelta(days=60), 0),
        )
        .filter(~Exists(metrics.came_back()))
        .order_by("pk")
        .first()
    )
    assert repair is not None
    back = Visit.objects.create(
        vehicle=repair.vehicle,
        customer=repair.customer,
        ro_number="RO-D-BACK",
        service_type="warranty",
        status=Visit.Status.CHECKED_IN,
        checked_in_at=repair.delivered_at + timedelta(days=10),
    )
    day = timezone.localtime(repair.delivered_at).date()
    came_back_before = summary_of(reader, day - timedelta(days=1), day + timedelta(days=1))
    check(reader)
    back.checked_in_at = repair.delivered_at + timedelta(days=40)
    back.save()
    check(reader)
    back.checked_in_at = repair.delivered_at + timedelta(days=2)
    back.save()
    check(reader)
    back.delete()
    check(reader)
    assert came_back_before["fixed_first_visit_rate"] < 1

    # Responses answered, corrected and withdrawn; invitations sent and completed.
    response = SurveyResponse.objects.filter(nps_class="detractor").order_by("pk").first()
    response.nps_score, response.nps_class = 10, "promoter"
    response.csi = 100.0
    response.dimension_scores = {"empathy": 100.0}
    response.save()
    SurveyResponse.objects.filter(nps_class="passive").order_by("pk").first().delete()
    invitation = SurveyInvitation.objects.filter(sent_at__isnull=True).order_by("pk").first()
    invitation.sent_at = invitation.due_at
    invitation.status = "completed"
    invitation.save()
    SurveyInvitation.objects.filter(status="completed").order_by("-pk").first().delete()
    check(reader)

    # Calls: one reaching the customer within 72 hours, one changed to no answer, one
    # deleted, a task that is no longer a post-service call.
    task = FollowUpTask.objects.filter(attempts__gt=0).order_by("pk").first() or (
        FollowUpTask.objects.order_by("pk").first()
    )
    CallAttempt.objects.create(
        task=task,
        agent=CallAttempt.objects.first().agent,
        started_at=task.visit.delivered_at + timedelta(hours=2),
        ended_at=task.visit.delivered_at + timedelta(hours=2, minutes=4),
        outcome="reached_satisfied",
    )
    first_call = sole_reaching_call()
    first_call.outcome = "no_answer"  # the visit is no longer contacted
    first_call.save()
    sole_reaching_call().delete()
    FollowUpTask.objects.filter(
        pk=CallAttempt.objects.filter(outcome="reached_satisfied").order_by("-pk")[3].task_id
    ).update(kind=FollowUpTask.Kind.MAINTENANCE_REMINDER)
    check(reader)

    # The funnel's calls: a new three-day call, one dialled, one reached then not; an NPS
    # answer changed within its class (the key drivers' sums).
    fresh = untouched_delivered()
    FollowUpTask.objects.create(
        kind=FollowUpTask.Kind.POST_SERVICE,
        source_key=f"visit:{fresh.pk}",
        customer=fresh.customer,
        visit=fresh,
        due_at=fresh.delivered_at + timedelta(days=1),
        next_attempt_at=fresh.delivered_at + timedelta(days=1),
    )
    dialled = FollowUpTask.objects.filter(attempts=0, visit__isnull=False).order_by("pk").first()
    dialled.attempts = 1
    dialled.save()
    reached = FollowUpTask.objects.filter(outcome__in=metrics.REACHED).order_by("pk").first()
    reached.outcome = FollowUpTask.Outcome.NO_ANSWER
    reached.save()
    response = SurveyResponse.objects.filter(nps_score=9).order_by("pk").first()
    response.nps_score = 10
    response.save()
    check(reader)
    for start, end in [HISTORY, (fresh.delivered_at.date(), TODAY)]:
        period = metrics.Period(start, end)
        assert dashboard.follow_up_funnel(period) == expected_funnel(start, end)
        drivers = {row["dimension"]: row["correlation"] for row in dashboard.key_drivers(period)}
        same(drivers, expected_correlations(start, end))

    incremental = snapshot()
    assert incremental == rebuilt()


def test_unrelated_changes_log_nothing(shop):
    daily.refresh()
    visit = Visit.objects.filter(status=Visit.Status.DELIVERED).first()
    visit.concern = "异响"
    visit.odometer_km = 1
    visit.save()
    checked_in = Visit.objects.exclude(status=Visit.Status.DELIVERED).exclude(
        service_type__in=REPAIR_TYPES
    )[0]
    checked_in.promised_at = checked_in.checked_in_at
    checked_in.save()
    task = FollowUpTask.objects.first()
    task.status = FollowUpTask.Status.FAILED  # (its attempts and outcome count: the funnel)
    task.save()
    invitation = SurveyInvitation.objects.first()
    invitation.reminded_at = invitation.due_at
    invitation.save()
    response = SurveyResponse.objects.first()
    response.duration_seconds = 99
    response.save()
    assert not DayChange.objects.exists()


def test_a_truncate_redoes_everything(shop, reader):
    daily.refresh()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the fixture's checks, done first
        cursor.execute("TRUNCATE followups_callattempt")
    assert DayChange.objects.filter(delivered_at=None).exists()
    answer = summary_of(reader, *HISTORY)
    assert answer["followup_contact_rate_72h"] == 0
    check(reader)


def test_missing_triggers_are_put_back_with_a_full_rebuild(db):
    declared = {trigger.name for trigger in DAY_TRIGGERS}
    assert installed(DAY_LOG_PROXIES) == declared
    assert not daily.ensure_triggers()  # the migrations made them all
    insert = next(t for t in CallDayLog._meta.triggers if t.name == "rp_day_call_insert")
    insert.uninstall(CallDayLog)
    DayChange.objects.all().delete()
    assert installed(DAY_LOG_PROXIES) == declared - {"rp_day_call_insert"}
    assert daily.ensure_triggers()
    assert installed(DAY_LOG_PROXIES) == declared
    assert DayChange.objects.filter(delivered_at=None).count() == 1


@pytest.mark.parametrize(
    ("start", "end", "advisor", "service_type"),
    [
        (date(2025, 11, 1), date(2026, 11, 20), None, None),
        (date(2026, 3, 1), date(2026, 3, 31), None, "repair"),
        (date(2025, 1, 1), date(2026, 6, 30), "adv2", None),
        (date(2020, 1, 1), date(2020, 1, 31), None, None),  # empty
    ],
)
def test_the_direct_computation_gives_what_the_table_gives(shop, start, end, advisor, service_type):
    """Other databases (SQLite) compute the period's grouped figures directly."""
    from django.contrib.auth import get_user_model

    advisor_id = get_user_model().objects.get(username=advisor).pk if advisor else None
    period = metrics.Period(start, end, advisor=advisor_id, service_type=service_type)
    from_table = daily.totals(period)
    filters = {"advisor_id": advisor_id} if advisor_id else {}
    if service_type:
        filters["service_type"] = service_type
    frame = daily.compute([(start, end)], **filters)
    direct = {name: frame[name].sum().item() if len(frame) else 0 for name in daily.COLUMNS}
    assert set(direct) == set(from_table)
    for name, value in from_table.items():
        assert direct[name] == pytest.approx(value, rel=1e-12), name
    if start.year > 2020:
        assert from_table["visits"] > 0


def test_days_run_together():
    days = {date(2026, 1, d) for d in (1, 2, 3, 5, 9, 10)}
    assert daily.day_runs(days) == [
        (date(2026, 1, 1), date(2026, 1, 3)),
        (date(2026, 1, 5), date(2026, 1, 5)),
        (date(2026, 1, 9), date(2026, 1, 10)),
    ]
    scattered = {date(2026, 1, 1) + timedelta(days=2 * n) for n in range(daily.MAX_RUNS + 1)}
    assert daily.day_runs(scattered) == [(min(scattered), max(scattered))]


@pytest.mark.django_db(transaction=True)
def test_two_refreshers_at_once_do_not_collide(shop):
    daily.refresh()
    visits = list(Visit.objects.filter(status=Visit.Status.DELIVERED).order_by("pk")[:40])
    for n, visit in enumerate(visits):
        Visit.objects.filter(pk=visit.pk).update(
            delivered_at=visit.delivered_at + timedelta(days=n % 5 + 1)
        )
    logged = DayChange.objects.count()
    assert logged >= 2 * len(visits)  # each visit's old and new day at least
    barrier = threading.Barrier(2)
    errors, taken = [], []

    def refresher():
        try:
            barrier.wait(timeout=10)
            taken.append(daily.refresh())
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=refresher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(taken) == logged  # each logged change taken once
    assert snapshot() == rebuilt()


def test_what_the_triggers_watch_comes_from_what_the_figures_read(monkeypatch):
    """One declaration (reports.figures): the columns a figure reads are the columns whose
    change logs its day, and the repair kinds and the comeback window are visits.rules'."""
    watched = figures.watched()
    assert watched == {
        "visit": [
            "advisor_id",
            "by_appointment",
            "checklist_car_cleaned",
            "checklist_charges_explained",
            "checklist_next_service_advised",
            "checklist_old_parts_offered",
            "delivered_at",
            "first_promised_at",
            "promise_revisions",
            "promised_at",
            "service_type",
            "status",
            "vehicle_id",
        ],
        "repair": ["checked_in_at", "service_type", "vehicle_id"],
        "response": ["csi", "dimension_scores", "is_alert", "nps_class", "nps_score", "visit_id"],
        "invitation": ["sent_at", "status", "visit_id"],
        "call": ["ended_at", "outcome", "task_id"],
        "task": ["attempts", "kind", "outcome", "visit_id"],
    }
    # A new figure reading another column: that column is watched from then on.
    monkeypatch.setitem(figures.VISIT_COUNTS, "with_odometer", Q(odometer_km__isnull=False))
    assert "odometer_km" in figures.watched()["visit"]
    update = next(
        t for t in figures.declare_triggers(log=DayChange) if t.name.endswith("visit_update")
    )
    assert "OLD.odometer_km IS DISTINCT FROM NEW.odometer_km" in update.postgresql().condition.sql
    assert "OLD.odometer_km IS NOT NEW.odometer_km" in update.sqlite()
    # The repairs and the window, in both dialects' SQL.
    visit_triggers = [t for t in DAY_TRIGGERS if t.model is Visit and t.event != "TRUNCATE"]
    seconds = int(COMEBACK_WINDOW.total_seconds())
    for trigger in visit_triggers:
        for sql in (trigger.postgresql().func, trigger.sqlite()):
            assert all(f"'{kind}'" in sql for kind in REPAIR_TYPES)
            assert f"{seconds} seconds" in sql


def test_every_connection_sets_what_the_triggers_read_first(db):
    """django-pgtrigger's triggers begin by reading pgtrigger.ignore; unset, that read
    raises and catches an error on every trigger call, dearer the more rows a transaction
    writes (docs/decisions.md). The app's connections set it to an empty list."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('pgtrigger.ignore', true)")
        assert cursor.fetchone()[0] == "{}"
