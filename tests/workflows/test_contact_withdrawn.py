"""Withdrawing contact empties the queues at once (issue 15, "contact rules at the moment of
contact"): marking a customer do-not-contact — on the customer page, by the DMS, by refusing
on a call, by a merge — cancels their planned calls and the messages not yet sent, and skips
the survey invitations not yet sent, in the same transaction; withdrawing consent does the
same for what needs consent (surveys, marketing) and leaves calls and service messages."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from customers import services as customer_services
from customers.contact import Purpose
from followups import services as followup_services
from followups import sources
from followups.models import FollowUpTask
from messaging import services as messaging_services
from messaging.models import Message
from surveys import services as survey_services
from surveys.models import SurveyInvitation
from tests.api.conftest import post
from tests.factories import CustomerFactory, UserFactory, api_key
from tests.surveys.conftest import make_delivered_visit

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

S, M, INV = FollowUpTask.Status, Message.Status, SurveyInvitation.Status


@pytest.fixture
def planned(django_capture_on_commit_callbacks):
    """A consenting customer with a planned call, a queued marketing SMS, a queued service
    SMS and a survey invitation not yet sent."""
    visit = make_delivered_visit(consent=True, hours_ago=2)
    customer = visit.customer
    with django_capture_on_commit_callbacks(execute=False):
        call, _ = followup_services.task_create(
            kind=FollowUpTask.Kind.POST_SERVICE,
            source=sources.of_visit(visit.pk),
            customer=customer,
            visit=visit,
            due_at=timezone.now() + timedelta(days=1),
        )
        marketing, _ = messaging_services.message_enqueue(
            purpose="maintenance_reminder",
            contact_purpose=Purpose.MARKETING,
            customer=customer,
            object_key="vehicle:1:2027-01-01",
            body="保养提醒",
        )
        service, _ = messaging_services.message_enqueue(
            purpose="service_notice",
            contact_purpose=Purpose.SERVICE,
            customer=customer,
            object_key=f"visit:{visit.pk}",
            body="您的车已修好",
        )
        invitation = survey_services.invitation_create_for_visit(visit_id=visit.pk)
    assert invitation.status == INV.SCHEDULED
    return customer, call, marketing, service, invitation


def states(call, marketing, service, invitation):
    for row in (call, marketing, service, invitation):
        row.refresh_from_db()
    return call.status, marketing.status, service.status, invitation.status


def test_do_not_contact_on_the_customer_page_cancels_everything_planned(planned):
    customer, call, marketing, service, invitation = planned
    customer_services.customer_update(customer=customer, do_not_contact=True)
    assert states(call, marketing, service, invitation) == (
        S.CANCELLED,
        M.CANCELLED,
        M.CANCELLED,
        INV.SKIPPED,
    )
    assert (marketing.last_error, invitation.skip_reason) == ("do not contact", "do not contact")


def test_consent_withdrawn_cancels_only_what_needs_consent(planned):
    customer, call, marketing, service, invitation = planned
    customer_services.customer_update(customer=customer, marketing_consent=False)
    assert states(call, marketing, service, invitation) == (
        S.PENDING,  # a service call needs no marketing consent
        M.CANCELLED,
        M.QUEUED,  # nor does a service message about their own car
        INV.SKIPPED,
    )
    assert marketing.last_error == "no consent"


def test_a_change_rolled_back_cancels_nothing(planned):
    customer, call, marketing, service, invitation = planned
    with pytest.raises(RuntimeError), transaction.atomic():
        customer_services.customer_update(customer=customer, do_not_contact=True)
        raise RuntimeError("the form failed after the update")
    assert states(call, marketing, service, invitation) == (
        S.PENDING,
        M.QUEUED,
        M.QUEUED,
        INV.SCHEDULED,
    )


def test_the_dms_marking_do_not_contact_cancels_in_its_batch(planned):
    customer, call, marketing, service, invitation = planned
    customer.external_id = "C-DNC"
    customer.save()
    dms = APIClient()
    key = api_key(UserFactory(role="dms_client", username="dms-dnc"))
    dms.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    record = {"external_id": "C-DNC", "name": customer.name, "phone": customer.phone}
    answer = post(dms, "customers", [{**record, "do_not_contact": True}])
    assert answer.status_code == 200 and answer.json()["updated"] == 1
    assert states(call, marketing, service, invitation) == (
        S.CANCELLED,
        M.CANCELLED,
        M.CANCELLED,
        INV.SKIPPED,
    )


def test_a_merge_into_a_do_not_contact_customer_cancels_what_moved(planned):
    customer, call, marketing, service, invitation = planned
    target = CustomerFactory(do_not_contact=True)
    customer_services.customer_merge(source=customer, target=target)
    assert states(call, marketing, service, invitation) == (
        S.CANCELLED,
        M.CANCELLED,
        M.CANCELLED,
        INV.SKIPPED,
    )


def test_the_sender_asks_again_when_no_event_came(planned):
    """A path that sends no event (a raw UPDATE, the admin's bulk action) is still caught:
    the sender cancels at sending, the claim skips and the sweep cancels the call."""
    customer, call, marketing, _service, _invitation = planned
    type(customer).objects.filter(pk=customer.pk).update(do_not_contact=True)
    daytime = timezone.localtime().replace(hour=11, minute=0) + timedelta(days=1)
    assert messaging_services.message_send(message_id=marketing.pk, now=daytime) == "cancelled"
    assert followup_services.task_cancel_uncontactable() == 1
    call.refresh_from_db()
    assert call.status == S.CANCELLED
