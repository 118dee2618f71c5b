"""The demo shop looks real (issue 16, "looks real, reads right"): a seeded demo's figures
fall in the ranges a service manager expects of a working 4S shop."""

from datetime import timedelta
from io import StringIO
from statistics import median

import pytest
from django.core.management import call_command
from django.db.models import F
from django.utils import timezone

from complaints.models import Complaint
from customers.models import Vehicle
from followups.models import CallAttempt, FollowUpTask
from followups.sources import of_complaint_round
from messaging.models import Message
from reports import metrics
from shopcalendar import selectors as calendar
from surveys.models import SurveyResponse
from visits import rules as visits_rules
from visits.models import Appointment, PromiseRevision, Visit, WorkItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    call_command("seed_demo", "--customers", "400", stdout=StringIO())
    return timezone.now()


def local_time(moment):
    return timezone.localtime(moment).time()


def check_visits_fall_in_opening_hours():
    hours = calendar.business_hours()
    delivered = Visit.objects.filter(status=Visit.Status.DELIVERED)
    for checked_in, delivered_at in delivered.values_list("checked_in_at", "delivered_at"):
        assert hours.start <= local_time(checked_in) < hours.end, checked_in
        assert hours.start <= local_time(delivered_at) < hours.end, delivered_at
    for checked_in in Visit.objects.filter(status__in=Visit.IN_WORKSHOP).values_list(
        "checked_in_at", flat=True
    ):
        assert hours.start <= local_time(checked_in) < hours.end, checked_in
    promised = delivered.filter(first_promised_at__isnull=False)
    assert promised.count() == delivered.filter(promised_at__isnull=False).count()
    on_time = promised.filter(delivered_at__lte=F("first_promised_at")).count() / promised.count()
    assert 0.85 <= on_time <= 0.92, on_time
    # Issue 17: about half the late cars had their promise revised in time.
    on_time_revised = promised.filter(delivered_at__lte=F("promised_at")).count() / promised.count()
    assert on_time + 0.03 <= on_time_revised <= 0.98, on_time_revised
    revised = promised.filter(promise_revisions__gt=0)
    assert revised.count() == PromiseRevision.objects.filter(visit__in=promised).count()
    complete = delivered.filter(visits_rules.CHECKLIST_COMPLETE).count() / delivered.count()
    assert 0.8 <= complete <= 0.9, complete


def check_mileage_is_a_cars():
    today = timezone.localdate()
    daily = [
        odometer / (today - registered).days
        for odometer, registered in Vehicle.objects.filter(odometer_km__isnull=False).values_list(
            "odometer_km", "registration_date"
        )
        if (today - registered).days > 180
    ]
    assert 30 <= median(daily) <= 60, median(daily)
    private = sum(25 <= km <= 65 for km in daily) / len(daily)
    assert private >= 0.6, private  # most are private cars
    all_day = sum(km >= 180 for km in daily) / len(daily)
    assert 0.005 <= all_day <= 0.12, all_day  # a few taxis and ride-hailing cars
    assert max(daily) <= 400
    # The shop's mileage analysis (METRICS.md, segments) sees a shop of private cars.
    bands = [band["share"] for band in metrics.segments(today)["bands"]]
    assert bands[0] >= 0.5 and bands[1] <= 0.4 and bands[2] + bands[3] <= 0.12, bands
    odometers = [v for v in Vehicle.objects.values_list("odometer_km", flat=True) if v]
    assert 30_000 <= sum(odometers) / len(odometers) <= 100_000


def check_the_call_centre_has_a_history(now):
    today = timezone.localdate()
    period = metrics.Period(today - timedelta(days=365), today - timedelta(days=4))
    figures = metrics.summary(period)
    assert 0.72 <= figures["followup_contact_rate_72h"] <= 0.85, figures
    delivered = metrics.delivered_visits(period)
    tasks = FollowUpTask.objects.filter(kind=FollowUpTask.Kind.POST_SERVICE, visit__in=delivered)
    dialled = tasks.filter(attempts__gt=0).count() / tasks.count()
    assert 0.85 <= dialled <= 0.97, dialled
    outcomes = set(CallAttempt.objects.values_list("outcome", flat=True))
    assert {"reached_satisfied", "reached_issue", "no_answer"} <= outcomes
    for task in tasks.filter(attempts__gt=0)[:200]:
        assert task.attempts_made.count() == task.attempts
        assert (
            task.created_at < task.due_at <= task.attempts_made.order_by("started_at")[0].started_at
        )
    # The open queue is the last days' deliveries only.
    open_calls = FollowUpTask.objects.filter(
        kind=FollowUpTask.Kind.POST_SERVICE, status__in=FollowUpTask.OPEN
    )
    assert not open_calls.filter(visit__delivered_at__lt=now - timedelta(days=7)).exists()


def check_survey_answers_come_in_over_the_week():
    delays = [
        (submitted - delivered).total_seconds() / 86400
        for submitted, created, delivered in SurveyResponse.objects.values_list(
            "submitted_at", "created_at", "visit__delivered_at"
        )
    ]
    assert all(1 <= d <= 7 for d in delays), (min(delays), max(delays))
    assert median(delays) < 4 and max(delays) > 5
    stamped = SurveyResponse.objects.exclude(created_at=F("submitted_at")).count()
    assert stamped == 0


def check_complaints_span_the_period(now):
    complaints = Complaint.objects.all()
    assert complaints.count() >= 8
    closed = complaints.filter(status=Complaint.Status.CLOSED).count() / complaints.count()
    assert closed >= 0.8, closed
    oldest = complaints.order_by("received_at")[0].received_at
    assert oldest < now - timedelta(days=365)
    for complaint in complaints.filter(status=Complaint.Status.CLOSED):
        assert complaint.received_at <= complaint.acknowledged_at <= complaint.resolved_at
        assert complaint.resolved_at < complaint.closed_at <= now
    # Their callbacks were made: none of the closed ones waits in the queue.
    for complaint in complaints.filter(status=Complaint.Status.CLOSED):
        key = of_complaint_round(complaint.pk, complaint.resolution_round).key
        assert not FollowUpTask.objects.filter(
            source_key=key, status__in=FollowUpTask.OPEN
        ).exists()


def test_the_demo_shop_looks_real(demo):
    check_visits_fall_in_opening_hours()
    check_mileage_is_a_cars()
    check_the_call_centre_has_a_history(demo)
    check_survey_answers_come_in_over_the_week()
    check_complaints_span_the_period(demo)
    check_the_repair_figures_have_numbers(demo)
    check_yesterday_s_digest_is_there()
    check_the_return_figures_have_numbers(demo)
    check_why_customers_leave_has_numbers(demo)


def check_the_repair_figures_have_numbers(now):
    """Issue 17 on the demo: extra work answered on the status page and by phone, bills
    mostly within the estimate, progress messages sent, recommendations some of which came
    back, and cars in today's workshop waiting for an answer — each tile a number, not "—"."""
    today = timezone.localdate(now)
    period = metrics.Period(start=today - timedelta(days=364), end=today)
    figures = metrics.repair_figures(period)
    assert 0.5 <= figures["extra_work_approval_rate"] <= 0.75, figures
    assert 5 <= figures["approval_turnaround_minutes"] <= 60, figures
    assert 0.75 <= figures["estimate_accuracy_rate"] <= 0.95, figures
    assert 0.6 <= figures["progress_update_rate"] <= 0.95, figures
    assert 0.1 <= figures["recommended_work_conversion_rate"] <= 0.6, figures
    channels = set(WorkItem.objects.values_list("answer_channel", flat=True))
    assert {"status_page", "phone"} <= channels
    waiting = WorkItem.objects.filter(status=WorkItem.Status.AWAITING)
    assert waiting.exists()
    assert not waiting.exclude(visit__status__in=Visit.IN_WORKSHOP).exists()
    # A sent message never keeps its link; every visit's message is once per (event, round).
    sent = Message.objects.filter(purpose__in=Message.SERVICE_NOTIFICATIONS)
    assert sent.exists() and not sent.filter(body__contains="/r/").exists()


def check_the_return_figures_have_numbers(now):
    """Issue 18 on the demo: a year of appointments (most arrived, a few no-shows and
    cancellations, booked online, by phone, at the desk and from the DMS), maintenance
    reminders of which a fair share brought the car back, win-back calls some of which
    did — each figure a number, and the reminder funnel narrowing at each step."""
    today = timezone.localdate(now)
    period = metrics.Period(start=today - timedelta(days=364), end=today)
    figures = metrics.return_figures(period)
    assert 0.85 <= figures["booking_show_rate"] <= 0.97, figures
    assert 0.2 <= figures["online_booking_share"] <= 0.4, figures
    assert 0.35 <= figures["reminder_conversion_rate"] <= 0.55, figures
    assert 0.1 <= figures["win_back_conversion_rate"] <= 0.25, figures
    by_channel = figures["reminder_conversion_rate_by_channel"]
    assert all(by_channel[channel] is not None for channel in ("call", "sms", "wechat")), by_channel
    reminded, booked, arrived, delivered = (
        figures["reminder_funnel"][step] for step in metrics.REMINDER_STEPS
    )
    # Today's workshop may hold none of the reminded cars: delivered can equal arrived.
    assert reminded > booked > arrived >= delivered > 0, figures["reminder_funnel"]
    appointments = Appointment.objects.all()
    assert set(appointments.values_list("source", flat=True)) == set(Appointment.Source.values)
    dms = appointments.filter(source=Appointment.Source.DMS)
    assert not dms.filter(external_id__isnull=True).exists()
    cancelled = appointments.filter(status=Appointment.Status.CANCELLED)
    assert cancelled.exists() and not cancelled.filter(cancel_reason="").exists()
    arrived = appointments.filter(status=Appointment.Status.ARRIVED)
    assert arrived.count() == Visit.objects.filter(appointment__in=arrived).count()
    assert (
        not appointments.exclude(status=Appointment.Status.ARRIVED)
        .filter(visit__isnull=False)
        .exists()
    )
    for created, scheduled in arrived.values_list("created_at", "scheduled_at")[:500]:
        assert timedelta(days=1) <= scheduled - created <= timedelta(days=10)
    # Today's sweep still made its reminders, next to the year's.
    reminders = FollowUpTask.objects.filter(kind=FollowUpTask.Kind.MAINTENANCE_REMINDER)
    assert reminders.filter(created_at__gte=now - timedelta(minutes=30)).exists()
    assert reminders.filter(created_at__lt=now - timedelta(days=30)).exists()


def check_yesterday_s_digest_is_there():
    """Issue 19: each manager and advisor has yesterday's morning digest to read at once,
    whatever the hour the demo is loaded."""
    from digest.models import Digest

    yesterday = timezone.localdate() - timedelta(days=1)
    readers = set(
        Digest.objects.filter(day=yesterday).values_list("recipient__username", flat=True)
    )
    assert {"manager", "advisor"} <= readers, readers


def check_why_customers_leave_has_numbers(now):
    """Issue 19 on the demo: the lost calls and some win-backs reached without a booking
    carry a coded reason, several reasons show in the year's Pareto, "other" with a note."""
    today = timezone.localdate(now)
    pareto = metrics.lost_reasons(metrics.Period(start=today - timedelta(days=364), end=today))
    assert len(pareto) >= 5 and sum(row["count"] for row in pareto) >= 10, pareto
    lost = FollowUpTask.objects.filter(outcome=FollowUpTask.Outcome.LOST)
    assert lost.exists() and not lost.filter(lost_reason="").exists()
    assert not FollowUpTask.objects.filter(lost_reason="other", lost_note="").exists()
    assert not FollowUpTask.objects.exclude(lost_note="").exclude(lost_reason="other").exists()
