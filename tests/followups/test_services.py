"""Follow-up scheduling and the queue against PostgreSQL."""

import threading
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from followups import selectors, services, sources
from followups.models import CallAttempt, FollowUpTask
from shopcalendar.models import Holiday
from shopcrm.errors import DomainError
from tests.factories import CustomerFactory, UserFactory, VehicleFactory, VisitFactory
from visits import services as visit_services
from visits.models import Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
S, OUT, K = FollowUpTask.Status, FollowUpTask.Outcome, FollowUpTask.Kind
SHANGHAI = timezone.get_default_timezone()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)), SHANGHAI)


MONDAY = date(2026, 11, 23)
CALLING = at(MONDAY, 10)


def delivered_visit(delivered_at=None, **extra):
    delivered_at = delivered_at or timezone.now() - timedelta(hours=30)
    return VisitFactory(
        status=Visit.Status.DELIVERED,
        checked_in_at=delivered_at - timedelta(hours=3),
        promised_at=delivered_at,
        delivered_at=delivered_at,
        **extra,
    )


def due_task(**extra):
    visit = delivered_visit()
    fields = {
        "kind": K.POST_SERVICE,
        "source": sources.of_visit(visit.pk),
        "customer": visit.customer,
        "visit": visit,
        "due_at": CALLING - timedelta(hours=1),
        "expires_at": CALLING + timedelta(days=5),
    }
    fields.update(extra)
    task, _ = services.task_create(**fields)
    return task


@pytest.fixture
def agent_user():
    return UserFactory(role="agent", username="agent-a")


# ---------------------------------------------------------------- creation


def test_delivery_creates_the_three_day_call_once(advisor, django_capture_on_commit_callbacks):
    visit = VisitFactory(status=Visit.Status.READY)
    with django_capture_on_commit_callbacks(execute=True):
        visit_services.visit_deliver(
            visit=visit, labour_amount=Decimal(1), parts_amount=Decimal(1), by=advisor
        )
    task = FollowUpTask.objects.get()
    visit.refresh_from_db()
    assert (task.kind, task.visit, task.status) == (K.POST_SERVICE, visit, S.PENDING)
    assert task.due_at == visit.delivered_at + timedelta(hours=24)
    assert task.expires_at == visit.delivered_at + timedelta(days=7)
    assert services.post_service_task_create(visit_id=visit.pk) == task  # again: nothing new
    assert FollowUpTask.objects.count() == 1


def test_do_not_contact_customers_get_no_task():
    visit = delivered_visit(customer=CustomerFactory(do_not_contact=True))
    assert services.post_service_task_create(visit_id=visit.pk) is None
    assert FollowUpTask.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_processes_creating_the_same_task_make_one():
    visit = delivered_visit()
    barrier, results = threading.Barrier(4), []

    def worker():
        try:
            barrier.wait()
            results.append(services.post_service_task_create(visit_id=visit.pk).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1 and FollowUpTask.objects.count() == 1


# ---------------------------------------------------------------- the queue


def test_next_call_claims_the_most_urgent_due_task_with_a_lease(agent_user):
    later = due_task(due_at=CALLING - timedelta(minutes=5))
    urgent = due_task(due_at=CALLING - timedelta(minutes=1), kind=K.SERVICE_RECOVERY)
    due_task(due_at=CALLING + timedelta(hours=1))  # not due yet
    task = services.task_claim_next(agent=agent_user, now=CALLING)
    assert task == urgent
    assert task.status == S.CLAIMED and task.assigned_to == agent_user
    assert task.lease_expires_at == CALLING + timedelta(minutes=15)
    assert (
        services.task_claim_next(agent=agent_user, now=CALLING) == urgent
    )  # the held call, not a second one
    other = UserFactory(role="agent", username="agent-b")
    assert services.task_claim_next(agent=other, now=CALLING) == later


def test_a_complaint_callback_is_handed_out_before_a_service_recovery_call(agent_user):
    """Issue 16, bug 10: they shared a priority and went by due time."""
    recovery = due_task(due_at=CALLING - timedelta(hours=2), kind=K.SERVICE_RECOVERY)
    callback = due_task(due_at=CALLING - timedelta(minutes=1), kind=K.COMPLAINT_CALLBACK)
    assert services.task_claim_next(agent=agent_user, now=CALLING) == callback
    other = UserFactory(role="agent", username="agent-c")
    assert services.task_claim_next(agent=other, now=CALLING) == recovery


def test_no_calls_outside_calling_hours_or_on_holidays(agent_user):
    due_task(due_at=at(MONDAY, 7))
    with pytest.raises(DomainError):
        services.task_claim_next(agent=agent_user, now=at(MONDAY, 8, 30))
    with pytest.raises(DomainError):
        services.task_claim_next(agent=agent_user, now=at(MONDAY, 20, 0))
    Holiday.objects.create(day=MONDAY, name="店休")
    with pytest.raises(DomainError):
        services.task_claim_next(agent=agent_user, now=CALLING)


def test_expired_tasks_are_not_handed_out(agent_user):
    due_task(expires_at=CALLING - timedelta(minutes=1))
    assert services.task_claim_next(agent=agent_user, now=CALLING) is None


def test_a_customer_marked_do_not_contact_after_planning_is_not_called(agent_user):
    """The rule is asked again when the call is handed out, however the customer came to be
    do-not-contact — here by a path that sends no "contact withdrawn" event (a raw UPDATE;
    the services' event cancels at once: tests/workflows/test_contact_withdrawn.py) — and
    the sweep then cancels the calls that were planned."""
    from customers.models import Customer

    blocked = due_task(due_at=CALLING - timedelta(minutes=30))
    other = due_task(due_at=CALLING - timedelta(minutes=1))
    Customer.objects.filter(pk=blocked.customer_id).update(do_not_contact=True)
    assert services.task_claim_next(agent=agent_user, now=CALLING) == other
    services.task_record_outcome(
        task=services.task_claim_next(agent=agent_user, now=CALLING),
        agent=agent_user,
        outcome=FollowUpTask.Outcome.REACHED_SATISFIED,
        now=CALLING,
    )
    assert services.task_claim_next(agent=agent_user, now=CALLING) is None
    assert services.task_cancel_uncontactable(now=CALLING) == 1
    blocked.refresh_from_db()
    assert blocked.status == S.CANCELLED and blocked.outcome_note == "客户要求勿扰"
    assert services.task_cancel_uncontactable(now=CALLING) == 0


@pytest.mark.django_db(transaction=True)
def test_twenty_agents_at_once_never_get_the_same_task():
    for _ in range(30):
        due_task()
    agents = [UserFactory(role="agent", username=f"agent-{n}") for n in range(20)]
    claimed, errors = [], []
    barrier = threading.Barrier(len(agents))

    def worker(agent):
        try:
            barrier.wait()
            task = services.task_claim_next(agent=agent, now=CALLING)
            claimed.append(task.pk if task else None)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(claimed) == 20 and None not in claimed and len(set(claimed)) == 20


# ---------------------------------------------------------------- outcomes


def claimed(agent, **extra):
    due_task(**extra)
    return services.task_claim_next(agent=agent, now=CALLING)


def test_reached_and_satisfied_closes_the_task_and_records_the_dial(agent_user):
    task = claimed(agent_user)
    task = services.task_record_outcome(
        task=task,
        agent=agent_user,
        outcome=OUT.REACHED_SATISFIED,
        now=CALLING + timedelta(minutes=3),
    )
    assert (task.status, task.outcome, task.attempts) == (S.DONE, OUT.REACHED_SATISFIED, 1)
    attempt = CallAttempt.objects.get()
    assert (attempt.agent, attempt.outcome, attempt.ended_at) == (
        agent_user,
        OUT.REACHED_SATISFIED,
        CALLING + timedelta(minutes=3),
    )


def test_reached_with_an_issue_needs_a_note(agent_user):
    task = claimed(agent_user)
    with pytest.raises(ValidationError):
        services.task_record_outcome(
            task=task, agent=agent_user, outcome=OUT.REACHED_ISSUE, now=CALLING
        )
    task = services.task_record_outcome(
        task=task, agent=agent_user, outcome=OUT.REACHED_ISSUE, note="刹车还有异响", now=CALLING
    )
    assert task.status == S.DONE and task.outcome_note == "刹车还有异响"


def test_no_answer_retries_after_two_hours_then_next_day_then_fails(agent_user):
    task = claimed(agent_user)
    task = services.task_record_outcome(
        task=task, agent=agent_user, outcome=OUT.NO_ANSWER, now=CALLING
    )
    assert task.status == S.PENDING and task.assigned_to is None
    assert task.next_attempt_at == CALLING + timedelta(hours=2)
    task = services.task_claim_next(agent=agent_user, now=CALLING + timedelta(hours=2))
    task = services.task_record_outcome(
        task=task, agent=agent_user, outcome=OUT.BUSY, now=CALLING + timedelta(hours=2)
    )
    assert task.next_attempt_at == at(MONDAY + timedelta(days=1), 9)
    task = services.task_claim_next(agent=agent_user, now=at(MONDAY + timedelta(days=1), 9, 5))
    task = services.task_record_outcome(
        task=task, agent=agent_user, outcome=OUT.NO_ANSWER, now=at(MONDAY + timedelta(days=1), 9, 6)
    )
    assert task.status == S.FAILED and task.attempts == 3
    assert CallAttempt.objects.filter(task=task).count() == 3


def test_a_retry_that_would_fall_after_hours_moves_to_the_next_calling_day(agent_user):
    due_task(due_at=at(MONDAY, 18, 0))
    task = services.task_claim_next(agent=agent_user, now=at(MONDAY, 19, 0))
    task = services.task_record_outcome(
        task=task, agent=agent_user, outcome=OUT.NO_ANSWER, now=at(MONDAY, 19, 0)
    )
    assert task.next_attempt_at == at(MONDAY + timedelta(days=1), 9)


def test_refused_sets_do_not_contact_and_cancels_the_customers_other_calls(agent_user):
    task = claimed(agent_user)
    other = due_task(
        kind=K.MAINTENANCE_REMINDER,
        source=sources.Source("vehicle", 1, "x"),
        customer=task.customer,
    )
    services.task_record_outcome(task=task, agent=agent_user, outcome=OUT.REFUSED, now=CALLING)
    task.customer.refresh_from_db()
    other.refresh_from_db()
    assert task.customer.do_not_contact and other.status == S.CANCELLED


def test_callback_at_a_chosen_time(agent_user):
    task = claimed(agent_user)
    with pytest.raises(ValidationError):
        services.task_record_outcome(task=task, agent=agent_user, outcome=OUT.CALLBACK, now=CALLING)
    when = CALLING + timedelta(days=1, hours=5)
    task = services.task_record_outcome(
        task=task, agent=agent_user, outcome=OUT.CALLBACK, callback_at=when, now=CALLING
    )
    assert (task.status, task.next_attempt_at, task.callback_at) == (S.PENDING, when, when)


def test_wrong_number_fails_the_task(agent_user):
    task = services.task_record_outcome(
        task=claimed(agent_user), agent=agent_user, outcome=OUT.WRONG_NUMBER, now=CALLING
    )
    assert task.status == S.FAILED


def test_only_the_holder_records_an_outcome(agent_user):
    task = claimed(agent_user)
    intruder = UserFactory(role="agent", username="agent-x")
    with pytest.raises(DomainError):
        services.task_record_outcome(
            task=task, agent=intruder, outcome=OUT.REACHED_SATISFIED, now=CALLING
        )
    with pytest.raises(ValidationError):
        services.task_record_outcome(task=task, agent=agent_user, outcome="teleported", now=CALLING)
    assert CallAttempt.objects.count() == 0


# ---------------------------------------------------------------- sweeps


def test_lease_release_and_expiry_sweeps_twice_change_nothing_the_second_time(agent_user):
    held = claimed(agent_user)
    stale = due_task(expires_at=CALLING + timedelta(minutes=30))
    after = CALLING + timedelta(hours=1)
    assert services.lease_release_expired(now=after) == 1
    assert services.task_expire_stale(now=after) == 1
    snapshot = list(FollowUpTask.objects.order_by("pk").values_list("pk", "status", "updated_at"))
    assert services.lease_release_expired(now=after) == 0
    assert services.task_expire_stale(now=after) == 0
    assert (
        list(FollowUpTask.objects.order_by("pk").values_list("pk", "status", "updated_at"))
        == snapshot
    )
    held.refresh_from_db()
    stale.refresh_from_db()
    assert (held.status, held.assigned_to) == (S.PENDING, None)
    assert stale.status == S.EXPIRED


def test_predicted_next_service_follows_metrics():
    """The one definition (followups.states), as the customer page and the sweeps read it."""
    vehicle = VehicleFactory(registration_date=date(2026, 1, 1))
    delivered_visit(
        delivered_at=at(date(2026, 6, 30), 12), vehicle=vehicle, odometer_km=3600
    )  # 20 km/day
    fast = VehicleFactory(registration_date=date(2026, 1, 1))
    delivered_visit(
        delivered_at=at(date(2026, 6, 30), 12), vehicle=fast, odometer_km=18000
    )  # 100 km/day
    assert selectors.next_services(vehicles=[vehicle, fast, VehicleFactory()]) == {
        vehicle.pk: date(2026, 6, 30) + timedelta(days=180),
        fast.pk: date(2026, 6, 30) + timedelta(days=50),
    }


def test_reminder_sweep_creates_each_reminder_once():
    today = timezone.localdate()
    vehicle = VehicleFactory(registration_date=today - timedelta(days=400))
    delivered_visit(
        delivered_at=timezone.now() - timedelta(days=176), vehicle=vehicle, odometer_km=4000
    )
    VehicleFactory()  # never visited: nothing to remind
    assert services.reminder_create_due(today=today) == 1
    assert services.reminder_create_due(today=today) == 0
    task = FollowUpTask.objects.get()
    assert task.kind == K.MAINTENANCE_REMINDER and task.vehicle == vehicle


def test_win_back_sweep_once_per_customer_and_cooldown():
    lapsed = delivered_visit(delivered_at=timezone.now() - timedelta(days=400))
    delivered_visit(delivered_at=timezone.now() - timedelta(days=30))  # active customer
    delivered_visit(
        delivered_at=timezone.now() - timedelta(days=500),
        customer=CustomerFactory(do_not_contact=True),
    )
    assert services.win_back_create_due() == 1
    assert services.win_back_create_due() == 0
    task = FollowUpTask.objects.get()
    assert task.kind == K.WIN_BACK and task.customer == lapsed.customer
