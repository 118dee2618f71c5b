"""Service messages (issue 17): each visit event's message once, through the test backend;
the contact rules (no consent needed, never do-not-contact, the customer's own switch);
quiet hours and the "ready" exception at sending; the DMS path; the sweep."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers import services as customer_services
from messaging import services as outbox
from messaging.backends import LocmemBackend
from messaging.models import Message
from servicemessages import services
from servicemessages.models import MessageTemplate, WorkPhone
from shopcalendar.models import ShopCalendar
from tests.api.test_sync import customer, post, vehicle, visit
from tests.factories import CustomerFactory, UserFactory, VehicleFactory, VisitFactory
from visits import services as visit_services
from visits.models import StatusLink, Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
SHANGHAI = timezone.get_default_timezone()
TOMORROW = timezone.localdate() + timedelta(days=1)
P = Message.Purpose


@pytest.fixture(autouse=True)
def empty_outbox(settings):
    from tests.factories import contact_all_day

    contact_all_day()
    LocmemBackend.outbox.clear()
    yield
    LocmemBackend.outbox.clear()


def check_in(customer=None, advisor=None, **fields):
    vehicle = VehicleFactory(**({"owner": customer} if customer else {}))
    return visit_services.visit_check_in(
        customer=vehicle.owner,
        vehicle=vehicle,
        advisor=advisor,
        service_type="repair",
        promised_at=timezone.now() + timedelta(hours=3),
        estimated_amount=Decimal("880.00"),
        **fields,
    )


def walk_to_ready(visit):
    for status in ("in_progress", "quality_check", "ready"):
        visit = visit_services.visit_transition(visit=visit, to_status=status)
    return visit


def test_each_event_sends_its_message_once(django_capture_on_commit_callbacks):
    advisor = UserFactory(role="advisor", first_name="娜", last_name="李")
    WorkPhone.objects.create(user=advisor, phone="020-88886666")
    with django_capture_on_commit_callbacks(execute=True):
        visit = check_in(advisor=advisor)
    checked_in = Message.objects.get(purpose=P.SERVICE_CHECKED_IN)
    assert checked_in.status == Message.Status.SENT and checked_in.visit_id == visit.pk
    assert visit.ro_number in checked_in.body and "李娜" in checked_in.body
    assert "020-88886666" in checked_in.body
    # The status page's link went out with it; the outbox keeps no copy once sent.
    sent = next(m for m in LocmemBackend.outbox if m.pk == checked_in.pk)
    assert "/r/" in sent.params["link"] and sent.params["link"] in sent.body
    assert checked_in.params["link"] == "[…]" and "/r/" not in checked_in.body
    assert StatusLink.objects.filter(visit=visit).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        visit = walk_to_ready(visit)
    ready = Message.objects.get(purpose=P.SERVICE_READY)
    assert "880.00" in ready.body  # no total yet: the estimate
    with django_capture_on_commit_callbacks(execute=True):
        visit_services.visit_deliver(
            visit=visit, labour_amount=Decimal("300"), parts_amount=Decimal("500")
        )
    delivered = Message.objects.get(purpose=P.SERVICE_DELIVERED)
    assert "800.00" in delivered.body and delivered.params["next_service"]  # predicted
    # Again: the events, the tasks and the sweep add nothing.
    for event, pk in [(P.SERVICE_CHECKED_IN, visit.pk), (P.SERVICE_DELIVERED, visit.pk)]:
        services.service_message_create(event=event, visit_id=pk)
    assert services.service_message_create_missing() == 0
    assert Message.objects.filter(visit=visit).count() == 3
    assert Message.objects.filter(visit=visit, status=Message.Status.SENT).count() == 3


def test_promise_revised_once_per_revision(django_capture_on_commit_callbacks):
    advisor = UserFactory(role="advisor", first_name="娜", last_name="李")
    visit = VisitFactory(status="in_progress", advisor=advisor)
    later = timezone.now() + timedelta(days=1)
    with django_capture_on_commit_callbacks(execute=True):
        first = visit_services.visit_promise_revise(
            visit=visit, promised_at=later, reason="parts_late", by=advisor
        )
    message = Message.objects.get(purpose=P.SERVICE_PROMISE_REVISED)
    assert "配件未到" in message.body and message.object_key == f"visit:{visit.pk}:{first.pk}"
    assert timezone.localtime(later).strftime("%Y-%m-%d %H:%M") in message.body
    assert services.promise_messages_create_missing() == 0  # the sweep finds it made
    with django_capture_on_commit_callbacks(execute=True):
        visit_services.visit_promise_revise(
            visit=visit, promised_at=later + timedelta(hours=2), reason="extra_work", by=advisor
        )
    assert Message.objects.filter(purpose=P.SERVICE_PROMISE_REVISED).count() == 2
    Message.objects.filter(purpose=P.SERVICE_PROMISE_REVISED).delete()  # the events were lost
    assert services.promise_messages_create_missing() == 2
    assert services.promise_messages_create_missing() == 0


def test_english_customer_gets_the_english_text():
    visit = VisitFactory(customer=CustomerFactory(preferred_language="en"))
    message = services.service_message_create(event=P.SERVICE_CHECKED_IN, visit_id=visit.pk)
    assert message.body.startswith("Your car")
    chinese = VisitFactory()
    assert services.service_message_create(
        event=P.SERVICE_CHECKED_IN, visit_id=chinese.pk
    ).body.startswith("您的爱车")


def test_no_consent_needed_but_never_do_not_contact_nor_turned_off():
    allowed = VisitFactory(customer=CustomerFactory(marketing_consent=False))
    assert services.service_message_create(event=P.SERVICE_CHECKED_IN, visit_id=allowed.pk)
    for fields in ({"do_not_contact": True}, {"service_messages": False}):
        refused = VisitFactory(customer=CustomerFactory(**fields))
        assert services.service_message_create(event=P.SERVICE_READY, visit_id=refused.pk) is None
        refused.status = Visit.Status.READY
        refused.save()
    assert services.service_message_create_missing() == 0
    assert Message.objects.filter(purpose=P.SERVICE_READY).count() == 0


def test_turning_them_off_after_queueing_cancels_at_sending(django_capture_on_commit_callbacks):
    visit = VisitFactory()
    with django_capture_on_commit_callbacks(execute=False):
        message = services.service_message_create(event=P.SERVICE_READY, visit_id=visit.pk)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.QUEUED)
    Customer = type(visit.customer)
    Customer.objects.filter(pk=visit.customer_id).update(service_messages=False)
    assert outbox.message_send(message_id=message.pk) == "cancelled"
    message.refresh_from_db()
    assert message.last_error == "service messages off"


def test_turning_them_off_on_the_customer_page_cancels_what_waits():
    visit = VisitFactory()
    message = services.service_message_create(event=P.SERVICE_READY, visit_id=visit.pk)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.QUEUED)
    customer_services.customer_update(customer=visit.customer, service_messages=False)
    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED


def _hours(contact=(time(9), time(18)), business=(time(7), time(21))):
    calendar = ShopCalendar.current()
    calendar.contact_start, calendar.contact_end = contact
    calendar.business_start, calendar.business_end = business
    calendar.work_days = "0123456"
    calendar.save()
    from shopcalendar import selectors

    selectors.clear_cache()


def test_quiet_hours_and_the_ready_exception_at_sending(django_capture_on_commit_callbacks):
    _hours()
    visit = VisitFactory()
    with django_capture_on_commit_callbacks(execute=False):
        ready = services.service_message_create(event=P.SERVICE_READY, visit_id=visit.pk)
        checked = services.service_message_create(event=P.SERVICE_CHECKED_IN, visit_id=visit.pk)
    early = timezone.make_aware(datetime.combine(TOMORROW, time(8)), SHANGHAI)  # open, quiet
    Message.objects.update(next_attempt_at=early - timedelta(minutes=1))
    assert outbox.message_send(message_id=checked.pk, now=early) == "deferred"
    assert outbox.message_send(message_id=ready.pk, now=early) == "sent"
    checked.refresh_from_db()
    assert timezone.localtime(checked.next_attempt_at).time() == time(9)
    # Night: the shop is closed too; "ready" waits for the opening, not the contact hours.
    night = timezone.make_aware(datetime.combine(TOMORROW, time(22)), SHANGHAI)
    late = services.service_message_create(event=P.SERVICE_READY, visit_id=VisitFactory().pk)
    Message.objects.filter(pk=late.pk).update(status=Message.Status.QUEUED, next_attempt_at=night)
    assert outbox.message_send(message_id=late.pk, now=night) == "deferred"
    late.refresh_from_db()
    assert timezone.localtime(late.next_attempt_at).time() == time(7)


def test_the_due_sweep_sends_ready_in_opening_hours_only():
    _hours()
    early = timezone.make_aware(datetime.combine(TOMORROW, time(8)), SHANGHAI)
    visit = VisitFactory()
    services.service_message_create(event=P.SERVICE_READY, visit_id=visit.pk)
    services.service_message_create(event=P.SERVICE_DELIVERED, visit_id=visit.pk)
    Message.objects.update(status=Message.Status.QUEUED, next_attempt_at=early)
    assert outbox.message_send_due(now=early) == 1
    statuses = dict(Message.objects.values_list("purpose", "status"))
    assert statuses == {P.SERVICE_READY: "sent", P.SERVICE_DELIVERED: "queued"}


# ---------------------------------------------------------------- the DMS


@pytest.fixture
def synced(dms):
    post(dms, "customers", [customer(1)])
    post(dms, "vehicles", [vehicle(1)])
    return dms


def test_a_synced_visit_sends_the_same_messages(synced, django_capture_on_commit_callbacks):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        post(synced, "visits", [visit(1, status="checked_in")])
    with django_capture_on_commit_callbacks(execute=True):
        post(synced, "visits", [visit(1, status="ready", total_amount="1200.00")])
    with django_capture_on_commit_callbacks(execute=True):
        post(synced, "visits", [visit(1, status="ready", total_amount="1200.00")])  # again
    with django_capture_on_commit_callbacks(execute=True):
        post(
            synced,
            "visits",
            [visit(1, status="delivered", total_amount="1200.00", delivered_at=now.isoformat())],
        )
    purposes = sorted(Message.objects.values_list("purpose", flat=True))
    assert purposes == sorted([P.SERVICE_CHECKED_IN, P.SERVICE_READY, P.SERVICE_DELIVERED])
    assert "1200.00" in Message.objects.get(purpose=P.SERVICE_READY).body


def test_synced_history_sends_nothing(synced, django_capture_on_commit_callbacks):
    old = timezone.now() - timedelta(days=30)
    with django_capture_on_commit_callbacks(execute=True):
        post(
            synced,
            "visits",
            [
                visit(1, status="checked_in", checked_in_at=old.isoformat()),
            ],
        )
    with django_capture_on_commit_callbacks(execute=True):
        post(
            synced,
            "visits",
            [
                visit(
                    1,
                    status="delivered",
                    checked_in_at=old.isoformat(),
                    delivered_at=(old + timedelta(days=1)).isoformat(),
                )
            ],
        )
    assert Message.objects.count() == 0
    assert services.service_message_create_missing() == 0


# ---------------------------------------------------------------- the sweep


def test_two_sweeps_create_nothing_twice():
    in_workshop = VisitFactory()
    ready = VisitFactory(status=Visit.Status.READY)
    delivered = VisitFactory(
        status=Visit.Status.DELIVERED, delivered_at=timezone.now(), total_amount=Decimal("10")
    )
    VisitFactory(  # delivered before the look-back: history
        status=Visit.Status.DELIVERED,
        checked_in_at=timezone.now() - timedelta(days=20),
        delivered_at=timezone.now() - timedelta(days=19),
        promised_at=None,
    )
    assert services.service_message_create_missing() == 4  # + the check-in of "ready"
    assert services.service_message_create_missing() == 0
    made = set(Message.objects.values_list("purpose", "visit_id"))
    assert made == {
        (P.SERVICE_CHECKED_IN, in_workshop.pk),
        (P.SERVICE_CHECKED_IN, ready.pk),
        (P.SERVICE_READY, ready.pk),
        (P.SERVICE_DELIVERED, delivered.pk),
    }


def test_a_template_with_an_unknown_parameter_is_refused():
    from django.core.exceptions import ValidationError

    template = MessageTemplate(event=P.SERVICE_READY, language="en", body="Pay {amount} {x}")
    with pytest.raises(ValidationError):
        template.clean()
    assert MessageTemplate.objects.count() == 14  # seeded: seven events, two languages


def test_extra_work_waiting_sends_its_message_once_with_the_status_link(
    django_capture_on_commit_callbacks,
):
    from visits import workitems

    advisor = UserFactory(role="advisor", first_name="娜", last_name="李")
    visit = VisitFactory(status="in_progress", advisor=advisor)
    with django_capture_on_commit_callbacks(execute=True):
        item = workitems.extra_work_request(
            visit=visit,
            description="前刹车片剩余 2 mm",
            labour_estimate="120",
            parts_estimate="380",
            urgency="safety",
            by=advisor,
        )
    message = Message.objects.get(purpose=P.SERVICE_EXTRA_WORK)
    assert message.visit_id == visit.pk and message.object_key == f"visit:{visit.pk}:{item.pk}"
    sent = next(m for m in LocmemBackend.outbox if m.pk == message.pk)
    assert "前刹车片剩余 2 mm" in sent.body and "500.00" in sent.body and "/r/" in sent.body
    assert services.extra_work_messages_create_missing() == 0  # two sweeps: nothing twice
    Message.objects.filter(pk=message.pk).delete()  # the broker lost the fast path
    assert services.extra_work_messages_create_missing() == 1
    assert services.extra_work_messages_create_missing() == 0
