"""The morning digest (issue 19): each section against hand-built data, once per recipient
and day (two beats, a second run, a sweep after a crash), the advisor's own and the
manager's whole shop, recipients without an e-mail address, the policy's time, the pages'
permission and bad input."""

import threading
from datetime import date, time, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from complaints.models import Complaint, Notification
from digest import selectors, services, tasks
from digest.models import Digest, DigestPolicy, DigestReader
from followups.models import CallAttempt, FollowUpTask
from messaging.backends import LocmemBackend
from messaging.models import Message
from messaging.services import message_send_due
from shopcalendar.rules import at
from surveys.models import Answer, Question, SurveyResponse, SurveyTemplate
from tests.factories import CustomerFactory, UserFactory, VisitFactory, contact_all_day
from visits.models import Visit

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 9)  # the digest's day ("yesterday")
MORNING = at(DAY + timedelta(days=1), time(8, 30))  # the beat, after the policy's 08:00


def on(hour: int, minute: int = 0, day: date = DAY):
    return at(day, time(hour, minute))


def delivered(advisor, *, at_hour, promised_hour=None, day=DAY, customer=None):
    extra = {"customer": customer, "vehicle__owner": customer} if customer else {}
    promised = on(promised_hour, day=day) if promised_hour is not None else None
    return VisitFactory(
        advisor=advisor,
        status=Visit.Status.DELIVERED,
        checked_in_at=on(7, day=day),
        promised_at=promised,
        first_promised_at=promised,
        delivered_at=on(at_hour, day=day),
        **extra,
    )


def response(visit, *, csi, words="", alert=False, hour=12):
    template = SurveyTemplate.objects.get(is_default=True)
    answer = SurveyResponse.objects.create(
        template=template,
        visit=visit,
        customer=visit.customer,
        channel="sms",
        submitted_at=on(hour),
        csi=csi,
        is_alert=alert,
    )
    if words:
        question = Question.objects.filter(template=template, kind=Question.Kind.TEXT).first()
        Answer.objects.create(response=answer, question=question, text=words)
    return answer


def complaint(customer, *, received, due, visit=None, status="new", resolved=None, number=""):
    return Complaint.objects.create(
        number=number or f"TS{Complaint.objects.count() + 1:06d}",
        customer=customer,
        visit=visit,
        channel="phone",
        category="long_wait",
        description="等太久",
        status=status,
        received_at=received,
        first_response_due_at=received + timedelta(hours=2),
        resolution_due_at=due,
        resolved_at=resolved,
        **(RESOLUTION if resolved else {}),
    )


RESOLUTION = {"resolution": "道歉并补偿", "root_cause": "system", "corrective_action": "排班"}


def call(visit, agent, *, outcome, hour=10, day=DAY):
    task = FollowUpTask.objects.create(
        kind=FollowUpTask.Kind.POST_SERVICE,
        source_key=f"test:{visit.pk}:{outcome}:{hour}",
        customer=visit.customer,
        vehicle=visit.vehicle,
        visit=visit,
        due_at=on(9, day=day),
        next_attempt_at=on(9, day=day),
    )
    return CallAttempt.objects.create(
        task=task,
        agent=agent,
        started_at=on(hour, day=day),
        ended_at=on(hour, 5, day=day),
        outcome=outcome,
    )


@pytest.fixture
def other_advisor(db):
    return UserFactory(role="advisor", username="advisor2", email="wang@shop.example")


# ---------------------------------------------------------------- the content, section by section


def test_cars_delivered_and_promises_kept_and_missed(advisor):
    kept = delivered(advisor, at_hour=10, promised_hour=11)
    late = delivered(advisor, at_hour=15, promised_hour=12)
    unpromised = delivered(advisor, at_hour=16)
    delivered(advisor, at_hour=10, promised_hour=11, day=DAY - timedelta(days=1))  # not that day
    c = selectors.content(DAY)
    assert c.delivered == [kept, late, unpromised]
    assert c.kept == [kept] and c.missed == [late]  # without a promise: neither


def test_a_promise_moved_later_is_judged_against_the_first_promise(advisor):
    """The on-time rule of METRICS.md (visits.rules.ON_TIME_FIRST), not a new one."""
    visit = delivered(advisor, at_hour=14, promised_hour=12)
    Visit.objects.filter(pk=visit.pk).update(promised_at=on(15))
    c = selectors.content(DAY)
    assert c.missed == [visit] and c.kept == []


def test_survey_alerts_carry_the_customers_words(advisor):
    visit = delivered(advisor, at_hour=10)
    alert = response(visit, csi=30, words="等了三个小时，没人解释", alert=True)
    response(delivered(advisor, at_hour=11), csi=95, words="很好")
    c = selectors.content(DAY)
    assert c.alerts == [alert] and c.alerts[0].comment == "等了三个小时，没人解释"


def test_complaints_opened_and_overdue(advisor):
    customer = CustomerFactory()
    opened = complaint(customer, received=on(9), due=on(9, day=DAY + timedelta(days=3)))
    overdue = complaint(customer, received=on(9, day=DAY - timedelta(days=5)), due=on(12))
    complaint(  # resolved in time: not overdue
        customer,
        received=on(9, day=DAY - timedelta(days=5)),
        due=on(12),
        status="resolved",
        resolved=on(11),
    )
    late_resolved = complaint(  # resolved, but only after the day: overdue that day
        customer,
        received=on(9, day=DAY - timedelta(days=5)),
        due=on(12),
        status="resolved",
        resolved=on(9, day=DAY + timedelta(days=1)),
    )
    complaint(  # the next day's
        customer,
        received=on(9, day=DAY + timedelta(days=1)),
        due=on(9, day=DAY + timedelta(days=4)),
    )
    c = selectors.content(DAY)
    assert c.complaints_opened == [opened]
    assert set(c.complaints_overdue) == {overdue, late_resolved}


def test_calls_not_reached(advisor, agent):
    visit = delivered(advisor, at_hour=10)
    no_answer = call(visit, agent, outcome="no_answer", hour=10)
    busy = call(visit, agent, outcome="busy", hour=11)
    call(visit, agent, outcome="reached_satisfied", hour=12)
    call(visit, agent, outcome="no_answer", hour=12, day=DAY + timedelta(days=1))
    assert selectors.content(DAY).calls_not_reached == [no_answer, busy]


def test_the_best_and_the_worst_comments_by_score(advisor):
    scores = {95: "非常满意", 40: "太慢了", 70: "还可以", 85: "师傅专业", 20: "态度很差"}
    for hour, (csi, words) in enumerate(scores.items(), start=9):
        response(delivered(advisor, at_hour=hour), csi=csi, words=words, hour=hour)
    response(delivered(advisor, at_hour=17), csi=100)  # no words: not a comment
    c = selectors.content(DAY)
    assert [r.csi for r in c.best_comments] == [95, 85, 70]
    assert [r.csi for r in c.worst_comments] == [20, 40]
    assert c.worst_comments[0].comment == "态度很差"


def test_an_advisor_sees_only_their_own_the_manager_all(advisor, other_advisor, agent):
    mine = delivered(advisor, at_hour=10, promised_hour=9)
    theirs = delivered(other_advisor, at_hour=11, promised_hour=9)
    response(mine, csi=20, words="我的客户", alert=True)
    response(theirs, csi=20, words="别人的客户", alert=True)
    my_complaint = complaint(mine.customer, received=on(9), due=on(20))
    complaint(theirs.customer, received=on(9), due=on(20), visit=theirs)
    my_call = call(mine, agent, outcome="no_answer")
    call(theirs, agent, outcome="no_answer")

    own = selectors.content(DAY, advisor=advisor)
    assert own.delivered == [mine] and own.missed == [mine]
    assert [r.comment for r in own.alerts] == ["我的客户"]
    assert [r.comment for r in own.worst_comments + own.best_comments] == ["我的客户"]
    # A complaint without a visit belongs to the advisor who served the customer.
    assert own.complaints_opened == [my_complaint]
    assert own.calls_not_reached == [my_call]

    shop = selectors.content(DAY)
    assert len(shop.delivered) == 2 and len(shop.alerts) == 2
    assert len(shop.complaints_opened) == 2 and len(shop.calls_not_reached) == 2


# ---------------------------------------------------------------- once per recipient and day


@pytest.fixture
def staff(advisor, manager, other_advisor, agent):
    advisor.email = "li@shop.example"
    advisor.save()
    manager.email = ""  # no address: the in-app digest only
    manager.save()
    return {"advisor": advisor, "manager": manager, "other": other_advisor, "agent": agent}


def run_beat(now=MORNING):
    return services.digests_make(now=now), services.digests_send_pending(now=now)


def test_each_recipient_gets_one_digest_and_one_email_however_often_the_beat_runs(staff):
    assert run_beat() == (3, 2)  # the agent gets none; the manager has no address
    assert run_beat() == (0, 0)  # a second run
    assert run_beat(MORNING + timedelta(hours=3)) == (0, 0)  # later that morning
    digests = Digest.objects.filter(day=DAY)
    assert {d.recipient.username: d.scope for d in digests} == {
        "advisor1": Digest.Scope.ADVISOR,
        "advisor2": Digest.Scope.ADVISOR,
        "manager1": Digest.Scope.SHOP,
    }
    assert all(d.enqueued_at is not None for d in digests)
    mails = Message.objects.filter(purpose=Message.Purpose.MORNING_DIGEST)
    assert sorted(mails.values_list("recipient", flat=True)) == [
        "li@shop.example",
        "wang@shop.example",
    ]
    assert all(m.channel == Message.Channel.EMAIL for m in mails)
    # The in-app notice, once each, linking to the day's page.
    notices = Notification.objects.filter(key=f"digest:{DAY.isoformat()}")
    assert notices.count() == 3
    assert {n.url for n in notices} == {f"/digest/{DAY.isoformat()}/"}
    # The next morning: the next day's.
    assert run_beat(MORNING + timedelta(days=1)) == (3, 2)


def test_a_digest_made_but_not_sent_is_sent_by_the_next_beat(
    staff, django_capture_on_commit_callbacks
):
    """The process (or the broker) died between making the digests and queuing the e-mails:
    the database is the truth — the next beat finds the digests without ``enqueued_at``."""
    assert services.digests_make(now=MORNING) == 3
    assert not Message.objects.filter(purpose=Message.Purpose.MORNING_DIGEST).exists()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert tasks.morning_digests() == {"made": 0, "queued": 2}
    assert len(callbacks) == 2  # one send task per e-mail, after the commit
    assert Message.objects.filter(purpose=Message.Purpose.MORNING_DIGEST).count() == 2
    assert tasks.morning_digests() == {"made": 0, "queued": 0}


def test_an_email_queued_before_a_crash_is_not_queued_twice(staff):
    """Died after the outbox took the e-mail but before ``enqueued_at`` was written."""
    run_beat()
    Digest.objects.update(enqueued_at=None)
    assert services.digests_send_pending(now=MORNING) == 0
    assert Message.objects.filter(purpose=Message.Purpose.MORNING_DIGEST).count() == 2
    assert not Digest.objects.filter(enqueued_at__isnull=True).exists()


def test_with_the_broker_down_the_outbox_sweep_sends_each_digest_once(
    staff, monkeypatch, django_capture_on_commit_callbacks
):
    """The broker refuses the send task: the e-mail waits in the outbox (the database) and
    the outbox's own sweep sends it; later beats queue nothing more."""
    import shopcrm.celery

    refused = []

    class Refused:
        def __init__(self, name):
            self.name = name

        def apply_async(self, **options):
            refused.append(self.name)
            raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(shopcrm.celery.app, "signature", lambda name, args=(): Refused(name))
    monkeypatch.setattr(shopcrm.celery, "_broker_down_until", 0.0)
    contact_all_day()
    LocmemBackend.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert run_beat() == (3, 2)
    assert refused  # the fast path was tried, and refused
    assert LocmemBackend.outbox == []
    message_send_due(now=timezone.now() + timedelta(minutes=1))
    message_send_due(now=timezone.now() + timedelta(minutes=2))
    assert sorted(m.recipient for m in LocmemBackend.outbox) == [
        "li@shop.example",
        "wang@shop.example",
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert run_beat(MORNING + timedelta(hours=1)) == (0, 0)
    assert Message.objects.filter(purpose=Message.Purpose.MORNING_DIGEST).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_make_one_digest_and_one_email_each(staff):
    barrier = threading.Barrier(2)
    errors = []

    def beat():
        try:
            barrier.wait(timeout=10)
            run_beat()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=beat) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert Digest.objects.filter(day=DAY).count() == 3
    assert Message.objects.filter(purpose=Message.Purpose.MORNING_DIGEST).count() == 2
    assert Notification.objects.filter(key=f"digest:{DAY.isoformat()}").count() == 3


# ---------------------------------------------------------------- the policy


def test_before_the_policys_time_nothing_is_made(staff):
    assert run_beat(at(DAY + timedelta(days=1), time(7, 59))) == (0, 0)
    policy = DigestPolicy.current()
    policy.send_at = time(9, 30)
    policy.save()
    assert run_beat(MORNING) == (0, 0)
    assert not Digest.objects.exists()
    assert run_beat(at(DAY + timedelta(days=1), time(9, 30))) == (3, 2)


def test_the_seeded_policy_and_roles_switched_off(staff):
    policy = DigestPolicy.objects.get()
    assert (policy.send_at, policy.to_managers, policy.to_advisors) == (time(8), True, True)
    policy.to_advisors = False
    policy.save()
    assert run_beat() == (1, 0)
    assert Digest.objects.get().recipient == staff["manager"]


def test_the_email_is_plain_text_in_the_recipients_language(staff):
    delivered(staff["advisor"], at_hour=10, promised_hour=9)
    DigestReader.objects.create(user=staff["other"], language="en")
    run_beat()
    chinese = Message.objects.get(recipient="li@shop.example").body
    assert "未按承诺交车: 1" in chinese and f"/digest/{DAY.isoformat()}/" in chinese
    assert "<" not in chinese
    assert "  - RO" in chinese  # the missed promise's repair order
    english = Message.objects.get(recipient="wang@shop.example").body
    assert "Missed promises: 0" in english and "未按承诺交车" not in english


# ---------------------------------------------------------------- the pages


def test_the_page_shows_the_recipients_own_digest(staff, client):
    mine = delivered(staff["advisor"], at_hour=10, promised_hour=9)
    delivered(staff["other"], at_hour=11)
    run_beat()
    client.force_login(staff["advisor"])
    page = client.get("/digest/")
    assert page.status_code == 200
    assert mine.ro_number in page.content.decode()
    day_page = client.get(f"/digest/{DAY.isoformat()}/")
    assert day_page.status_code == 200 and day_page.context["digest"].recipient == staff["advisor"]
    assert [v.pk for v in day_page.context["c"].delivered] == [mine.pk]
    client.force_login(staff["manager"])
    assert len(client.get(f"/digest/{DAY.isoformat()}/").context["c"].delivered) == 2


def test_another_users_digest_is_not_found(staff, client):
    """Only the manager has a digest that day: the advisor asking for it gets a 404."""
    services.digests_make(now=MORNING)
    Digest.objects.exclude(recipient=staff["manager"]).delete()
    client.force_login(staff["advisor"])
    assert client.get(f"/digest/{DAY.isoformat()}/").status_code == 404
    assert client.get("/digest/").context["digest"] is None


@pytest.mark.parametrize("bad", ["2026-13-45", "yesterday", "2026-02-30", "9" * 30])
def test_a_bad_day_is_a_clear_404(staff, client, bad):
    client.force_login(staff["advisor"])
    page = client.get(f"/digest/{bad}/")
    assert page.status_code == 404
    assert "日期无效" in page.content.decode()


def test_the_pages_ask_to_sign_in(client):
    assert client.get("/digest/").status_code == 302
    assert client.get(f"/digest/{DAY.isoformat()}/").status_code == 302


def test_opening_the_page_sets_the_emails_language(staff, client):
    client.force_login(staff["advisor"])
    client.cookies["django_language"] = "en"
    client.get("/digest/")
    assert services.language_of(staff["advisor"]) == "en"


def test_the_top_bar_links_to_the_digest_and_the_bell_counts_it(staff, client):
    services.digests_make(now=MORNING)
    client.force_login(staff["advisor"])
    answer = client.get(reverse("visits:board"))
    assert answer.status_code == 200
    page = answer.content.decode()
    assert 'href="/digest/"' in page and 'id="unread-count">1<' in page
