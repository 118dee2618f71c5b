"""A no-show puts a call in the queue ("missed appointment", 未到店回访), once per
appointment: the no-show marking's "appointments missed" event plans it (the fast path) and
the reminders sweep plans any the event missed (the database is the truth)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from followups import services, sources
from followups.models import FollowUpTask
from followups.tasks import sweep_reminders_and_win_backs
from tests.factories import AppointmentFactory, CustomerFactory, VehicleFactory, contact_all_day
from visits import services as visit_services
from visits.models import Appointment

pytestmark = pytest.mark.django_db
K = FollowUpTask.Kind


@pytest.fixture(autouse=True)
def always_calling_hours():
    contact_all_day()


def missed_calls():
    return FollowUpTask.objects.filter(kind=K.MISSED_APPOINTMENT)


def late(hours=3, **extra):
    return AppointmentFactory(scheduled_at=timezone.now() - timedelta(hours=hours), **extra)


def test_marking_a_no_show_plans_its_call_once(django_capture_on_commit_callbacks):
    appointment = late()
    with django_capture_on_commit_callbacks(execute=True):
        assert visit_services.appointment_mark_no_shows() == 1
    task = missed_calls().get()
    assert task.source_key == sources.of_missed_appointment(appointment.pk).key
    assert (task.customer, task.vehicle, task.appointment) == (
        appointment.customer,
        appointment.vehicle,
        appointment,
    )
    assert task.status == FollowUpTask.Status.PENDING and "未到店" in task.reason
    assert task.priority == 30  # after the three-day calls, before the reminders
    assert task.expires_at == appointment.scheduled_at + timedelta(days=7)
    with django_capture_on_commit_callbacks(execute=True):
        assert visit_services.appointment_mark_no_shows() == 0
    assert services.missed_appointment_calls_create() == 0  # the sweep finds it there
    assert missed_calls().count() == 1


def test_the_sweep_plans_the_call_the_event_lost():
    appointment = late()
    visit_services.appointment_mark_no_shows()  # its on-commit event never runs here
    assert not missed_calls().exists()
    assert sweep_reminders_and_win_backs.apply().get()["missed_appointments"] == 1
    assert missed_calls().get().appointment == appointment
    assert sweep_reminders_and_win_backs.apply().get()["missed_appointments"] == 0


def test_the_event_for_given_ids_plans_only_those():
    first, second = late(), late()
    Appointment.objects.update(status=Appointment.Status.NO_SHOW)
    assert services.missed_appointment_calls_create(appointment_ids=[first.pk]) == 1
    assert list(missed_calls().values_list("appointment", flat=True)) == [first.pk]
    assert services.missed_appointment_calls_create(appointment_ids=[first.pk]) == 0
    assert services.missed_appointment_calls_create() == 1
    assert missed_calls().filter(appointment=second).exists()


def test_no_call_for_do_not_contact_customers_cancelled_booked_or_old_appointments():
    quiet = VehicleFactory(owner=CustomerFactory(do_not_contact=True))
    late(vehicle=quiet, status=Appointment.Status.NO_SHOW)
    late(status=Appointment.Status.CANCELLED)
    late(hours=1)  # still booked: within the grace period
    late(hours=24 * 8, status=Appointment.Status.NO_SHOW)  # past the call's week
    assert services.missed_appointment_calls_create() == 0
    quiet_one = Appointment.objects.get(vehicle=quiet)
    assert services.missed_appointment_call_create(appointment=quiet_one) is False
    assert not missed_calls().exists()


def test_a_booked_appointment_gets_no_missed_call_even_when_asked():
    appointment = late()
    assert services.missed_appointment_call_create(appointment=appointment) is False
    assert services.missed_appointment_calls_create(appointment_ids=[appointment.pk]) == 0
    assert not missed_calls().exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_and_a_sweep_at_once_plan_each_missed_call_once():
    import threading

    from django.db import connection

    contact_all_day()
    appointments = [late() for _ in range(12)]
    barrier, errors = threading.Barrier(3), []

    def run(work):
        try:
            barrier.wait()
            work()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    works = [
        visit_services.appointment_mark_no_shows,
        visit_services.appointment_mark_no_shows,
        services.missed_appointment_calls_create,
    ]
    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    services.missed_appointment_calls_create()  # whatever the race left, the sweep plans
    assert sorted(missed_calls().values_list("appointment", flat=True)) == sorted(
        a.pk for a in appointments
    )
    assert Appointment.objects.filter(status=Appointment.Status.NO_SHOW).count() == 12
