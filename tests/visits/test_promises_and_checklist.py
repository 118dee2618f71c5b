"""Revised promises (the first kept, every revision recorded, the event after commit) and the
delivery checklist (recorded with who and when; incomplete allowed, counted as such)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from shopcrm.errors import DomainError
from tests.factories import VehicleFactory, VisitFactory
from visits import services
from visits.events import promise_revised
from visits.models import PromiseRevision, Visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
S = Visit.Status
ALL_TICKED = dict.fromkeys(Visit.CHECKLIST, True)


@pytest.fixture
def revised_events():
    received = []

    def receiver(sender, **kwargs):
        received.append((sender, kwargs))

    promise_revised.connect(receiver, dispatch_uid="test-promise")
    yield received
    promise_revised.disconnect(dispatch_uid="test-promise")


def test_check_in_gives_the_first_promise(advisor):
    promised = timezone.now() + timedelta(hours=3)
    vehicle = VehicleFactory()
    visit = services.visit_check_in(
        customer=vehicle.owner,
        vehicle=vehicle,
        advisor=advisor,
        service_type="maintenance",
        promised_at=promised,
    )
    assert visit.first_promised_at == promised == visit.promised_at
    assert visit.promise_revisions == 0 and not visit.promise_revised


def test_a_revision_keeps_the_first_promise_and_records_every_change(
    advisor, django_capture_on_commit_callbacks, revised_events
):
    visit = VisitFactory(status=S.IN_PROGRESS)
    first = visit.promised_at
    second, third = first + timedelta(hours=2), first + timedelta(hours=5)
    with django_capture_on_commit_callbacks(execute=True):
        services.visit_promise_revise(
            visit=visit, promised_at=second, reason="parts_late", by=advisor
        )
        assert not revised_events  # only after commit
    with django_capture_on_commit_callbacks(execute=True):
        revision = services.visit_promise_revise(
            visit=visit, promised_at=third, reason="other", note="客户临时加洗车", by=advisor
        )
    visit.refresh_from_db()
    assert (visit.first_promised_at, visit.promised_at) == (first, third)
    assert visit.promise_revisions == 2 and visit.promise_revised
    rows = list(visit.promise_changes.values_list("from_promised_at", "to_promised_at", "reason"))
    assert rows == [(first, second, "parts_late"), (second, third, "other")]
    assert revision.by == advisor and revision.note == "客户临时加洗车"
    assert [sender for sender, _ in revised_events] == [Visit, Visit]
    assert revised_events[-1][1]["visit"].pk == visit.pk
    assert revised_events[-1][1]["revision"] == revision


def test_the_first_revision_of_a_visit_without_a_promise_is_its_first(advisor):
    visit = VisitFactory(promised_at=None, first_promised_at=None)
    promised = timezone.now() + timedelta(hours=4)
    services.visit_promise_revise(
        visit=visit, promised_at=promised, reason="customer_request", by=advisor
    )
    visit.refresh_from_db()
    assert visit.first_promised_at == promised == visit.promised_at


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"promised_at": None}, "promised_at"),
        ({"promised_at": "past"}, "promised_at"),
        ({"promised_at": "before_check_in"}, "promised_at"),
        ({"promised_at": "same"}, "promised_at"),
        ({"reason": ""}, "reason"),
        ({"reason": "because"}, "reason"),
        ({"reason": "other", "note": "  "}, "note"),
        ({"note": "长" * 201}, "note"),
    ],
)
def test_bad_revisions_say_why_and_write_nothing(advisor, revised_events, change, field):
    now = timezone.now()
    visit = VisitFactory(checked_in_at=now - timedelta(hours=30), status=S.IN_PROGRESS)
    times = {
        "past": now - timedelta(hours=1),
        "before_check_in": now - timedelta(hours=31),
        "same": visit.promised_at,
    }
    arguments = {"promised_at": now + timedelta(hours=3), "reason": "workshop_delay", "note": ""}
    arguments.update(change)
    arguments["promised_at"] = times.get(arguments["promised_at"], arguments["promised_at"])
    with pytest.raises(ValidationError) as refused:
        services.visit_promise_revise(visit=visit, by=advisor, **arguments)
    assert field in refused.value.message_dict
    visit.refresh_from_db()
    assert visit.promise_revisions == 0 and not PromiseRevision.objects.exists()
    assert not revised_events


@pytest.mark.parametrize("status", [S.DELIVERED, S.CANCELLED])
def test_a_delivered_or_cancelled_visit_keeps_its_promise(advisor, status):
    visit = VisitFactory(status=status, delivered_at=timezone.now())
    with pytest.raises(DomainError, match="不能再修改承诺交车时间"):
        services.visit_promise_revise(
            visit=visit,
            promised_at=timezone.now() + timedelta(hours=2),
            reason="parts_late",
            by=advisor,
        )
    assert not PromiseRevision.objects.exists()


def deliver(visit, advisor, checklist):
    return services.visit_deliver(
        visit=visit,
        labour_amount=Decimal("100"),
        parts_amount=Decimal("200"),
        checklist=checklist,
        by=advisor,
    )


def test_a_full_checklist_is_recorded_with_who_and_when(advisor):
    visit = VisitFactory(status=S.READY)
    due = timezone.localdate() + timedelta(days=150)
    delivered = deliver(
        visit,
        advisor,
        {**ALL_TICKED, "next_service_advised_on": due, "next_service_advised_km": 25000},
    )
    delivered.refresh_from_db()
    assert delivered.checklist_complete
    assert delivered.checklist_by == advisor and delivered.checklist_at == delivered.delivered_at
    assert (delivered.next_service_advised_on, delivered.next_service_advised_km) == (due, 25000)


def test_an_incomplete_checklist_still_delivers_and_counts_as_not_complete(advisor):
    visit = VisitFactory(status=S.READY)
    delivered = deliver(
        visit,
        advisor,
        {**ALL_TICKED, "checklist_car_cleaned": False, "next_service_advised_km": 30000},
    )
    delivered.refresh_from_db()
    assert delivered.status == S.DELIVERED and not delivered.checklist_complete
    assert delivered.checklist_old_parts_offered and not delivered.checklist_car_cleaned


def test_a_delivery_without_a_checklist_is_not_complete(advisor):
    """The DMS's deliveries (and any caller without the form) have none."""
    delivered = deliver(VisitFactory(status=S.READY), advisor, None)
    assert not delivered.checklist_complete and delivered.checklist_at is None


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({}, "next_service_advised_on"),  # advice given, but which?
        ({"next_service_advised_on": "yesterday"}, "next_service_advised_on"),
    ],
)
def test_bad_checklist_details_refuse_the_delivery(advisor, details, field):
    visit = VisitFactory(status=S.READY)
    if details.get("next_service_advised_on") == "yesterday":
        details["next_service_advised_on"] = timezone.localdate() - timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        deliver(visit, advisor, {**ALL_TICKED, **details})
    assert field in refused.value.message_dict
    visit.refresh_from_db()
    assert visit.status == S.READY


# ---------------------------------------------------------------- through the pages


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_the_visit_page_revises_the_promise_and_says_what_is_wrong(advisor_client):
    from django.urls import reverse

    visit = VisitFactory(status=S.IN_PROGRESS)
    url = reverse("visits:promise_revise", args=[visit.pk])
    later = timezone.now() + timedelta(hours=6)
    refused = advisor_client.post(url, {"promised_at": local(later), "reason": ""})
    assert refused.status_code == 400 and "请选择修改原因" in refused.content.decode()
    past = advisor_client.post(
        url, {"promised_at": local(timezone.now() - timedelta(minutes=30)), "reason": "parts_late"}
    )
    assert past.status_code == 400 and "不能早于现在" in past.content.decode()
    assert not PromiseRevision.objects.exists()

    done = advisor_client.post(url, {"promised_at": local(later), "reason": "extra_work"})
    assert done.status_code == 302
    page = advisor_client.get(reverse("visits:detail", args=[visit.pk])).content.decode()
    assert 'id="promise-revisions"' in page and "客户同意增项" in page
    assert timezone.localtime(visit.promised_at).strftime("%Y-%m-%d %H:%M") in page  # the first
    printed = advisor_client.get(reverse("visits:print", args=[visit.pk])).content.decode()
    assert 'id="ro-promise-revisions"' in printed and "客户同意增项" in printed


def test_a_delivered_visit_offers_no_revision_and_refuses_one(advisor_client):
    from django.urls import reverse

    visit = VisitFactory(status=S.DELIVERED, delivered_at=timezone.now())
    page = advisor_client.get(reverse("visits:detail", args=[visit.pk])).content.decode()
    assert 'id="promise-form"' not in page
    response = advisor_client.post(
        reverse("visits:promise_revise", args=[visit.pk]),
        {"promised_at": local(timezone.now() + timedelta(hours=2)), "reason": "parts_late"},
        follow=True,
    )
    assert "不能再修改承诺交车时间" in response.content.decode()
    assert not PromiseRevision.objects.exists()


def test_the_deliver_form_prefills_the_next_service_and_says_when_incomplete(advisor_client):
    from django.urls import reverse

    from followups.models import FollowUpPolicy

    policy = FollowUpPolicy.current()
    visit = VisitFactory(status=S.READY, odometer_km=12_000)
    page = advisor_client.get(reverse("visits:detail", args=[visit.pk]))
    form = page.context["deliver_form"]
    assert form.initial["next_service_advised_km"] == 12_000 + policy.service_interval_km
    # No registration date: the interval in days from today (METRICS.md's rule).
    assert form.initial["next_service_advised_on"] == timezone.localdate() + timedelta(
        days=policy.service_interval_days
    )
    response = advisor_client.post(
        reverse("visits:deliver", args=[visit.pk]),
        {"labour_amount": "100", "parts_amount": "0", "checklist_car_cleaned": "on"},
        follow=True,
    )
    assert "交车检查未全部完成" in response.content.decode()
    visit.refresh_from_db()
    assert visit.status == S.DELIVERED and visit.checklist_car_cleaned
    assert not visit.checklist_complete
