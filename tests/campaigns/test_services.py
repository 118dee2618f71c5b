"""Running a campaign: the audience frozen once, one contact per (campaign, customer), one
call and one message each however often (and however many beats at once) the sweep runs;
consent and do-not-contact respected when planned and again at the moment of contact; a
campaign ended or cancelled takes back what is still open."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from campaigns import services
from campaigns.models import Campaign, CampaignContact
from customers.services import customer_mark_do_not_contact
from followups import services as followup_services
from followups.models import FollowUpTask
from messaging.models import Message
from messaging.services import message_send
from shopcrm.errors import DomainError
from tests.campaigns.helpers import NOW, TODAY, campaign, customer_with_car
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def audience():
    """Four owners of the model: with consent, without, do-not-contact, and with consent
    but no phone; and one owner of another model."""
    return {
        "consent": customer_with_car()[0],
        "no_consent": customer_with_car(marketing_consent=False)[0],
        "dnc": customer_with_car(do_not_contact=True)[0],
        "other_model": customer_with_car(model="帕萨特")[0],
    }


def test_the_sweep_run_twice_contacts_each_customer_once(audience):
    marketing = campaign()
    first = services.campaigns_run()
    second = services.campaigns_run()
    assert first["started"] == 1 and second["started"] == 0
    contacts = CampaignContact.objects.filter(campaign=marketing)
    assert contacts.count() == 3  # the other model's owner is not in the audience
    assert FollowUpTask.objects.filter(kind="campaign").count() == 1
    assert Message.objects.filter(purpose="campaign").count() == 1
    contacted = contacts.get(customer=audience["consent"])
    assert contacted.task.source_key == f"campaign:{marketing.pk}:{audience['consent'].pk}"
    assert contacted.message.recipient == audience["consent"].phone
    assert "回复 T 退订" in contacted.message.body
    skipped = dict(contacts.exclude(skipped="").values_list("customer_id", "skipped"))
    assert skipped == {
        audience["no_consent"].pk: CampaignContact.Skipped.NO_CONSENT,
        audience["dnc"].pk: CampaignContact.Skipped.DO_NOT_CONTACT,
    }
    marketing.refresh_from_db()
    assert marketing.status == Campaign.Status.RUNNING and marketing.audience_frozen_at == NOW


def test_the_audience_is_frozen_when_the_campaign_starts(audience):
    marketing = campaign()
    services.campaigns_run()
    late, _vehicle = customer_with_car()
    services.campaigns_run()
    assert not CampaignContact.objects.filter(campaign=marketing, customer=late).exists()
    assert CampaignContact.objects.filter(campaign=marketing).count() == 3


def test_a_campaign_not_yet_started_contacts_nobody(audience):
    later = campaign(starts_at=NOW + timedelta(hours=1))
    services.campaigns_run()
    later.refresh_from_db()
    assert later.status == Campaign.Status.SCHEDULED
    assert not CampaignContact.objects.exists() and not FollowUpTask.objects.exists()


def test_a_draft_is_never_started(audience):
    campaign(status=Campaign.Status.DRAFT)
    services.campaigns_run()
    assert not CampaignContact.objects.exists()


def test_a_recall_needs_no_marketing_consent_but_never_reaches_do_not_contact(audience):
    recall = campaign(
        kind=Campaign.Kind.RECALL,
        audience=Campaign.Audience.VIN_LIST,
        message_template="【{shop}】您的爱车 {plate} 有厂家召回，请预约免费检修：{link}",
    )
    from campaigns.models import CampaignVehicle

    for customer in audience.values():
        CampaignVehicle.objects.create(
            campaign=recall, vehicle=customer.vehicles.get(), line=customer.pk
        )
    services.campaigns_run()
    calls = FollowUpTask.objects.filter(kind="recall")
    assert set(calls.values_list("customer_id", flat=True)) == {
        audience["consent"].pk,
        audience["no_consent"].pk,
        audience["other_model"].pk,
    }
    notices = Message.objects.filter(purpose="recall_notice")
    assert notices.count() == 3
    assert all("退订" not in body for body in notices.values_list("body", flat=True))
    assert CampaignContact.objects.get(customer=audience["dnc"]).skipped == "do_not_contact"


def test_calls_only_or_messages_only(audience):
    calls = campaign(channel=Campaign.Channel.CALL, message_template="")
    messages_only = campaign(name="短信", channel=Campaign.Channel.MESSAGE)
    services.campaigns_run()
    assert FollowUpTask.objects.filter(source_key__startswith=f"campaign:{calls.pk}:").count() == 1
    assert not Message.objects.filter(object_key__startswith=f"campaign:{calls.pk}:").exists()
    assert (
        Message.objects.filter(object_key__startswith=f"campaign:{messages_only.pk}:").count() == 1
    )
    assert not FollowUpTask.objects.filter(
        source_key__startswith=f"campaign:{messages_only.pk}:"
    ).exists()


def test_consent_withdrawn_after_planning_is_asked_again_at_the_moment_of_contact(audience):
    campaign()
    services.campaigns_run()
    customer = audience["consent"]
    customer.marketing_consent = False
    customer.save()
    message = Message.objects.get(purpose="campaign")
    assert message_send(message_id=message.pk) == "cancelled"
    agent = UserFactory(role="agent", username="agent-c")
    assert followup_services.task_claim_next(agent=agent) is None  # the queue asks too
    assert followup_services.task_cancel_uncontactable() == 1
    assert FollowUpTask.objects.get(kind="campaign").status == FollowUpTask.Status.CANCELLED


def test_do_not_contact_marked_after_planning_cancels_the_call_and_the_message(audience):
    campaign()
    services.campaigns_run()
    customer_mark_do_not_contact(customer=audience["consent"], by=None, reason="test")
    assert FollowUpTask.objects.get(kind="campaign").status == FollowUpTask.Status.CANCELLED
    message = Message.objects.get(purpose="campaign")
    assert message_send(message_id=message.pk) in ("cancelled", "skipped")
    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED


def test_a_campaign_call_may_be_booked(audience):
    campaign()
    services.campaigns_run()
    assert FollowUpTask.Kind.CAMPAIGN in FollowUpTask.BOOKABLE
    agent = UserFactory(role="agent", username="agent-b")
    assert followup_services.task_claim_next(agent=agent).kind == "campaign"


@pytest.mark.parametrize("cancel", [True, False])
def test_closing_a_campaign_cancels_its_open_calls_and_unsent_messages(audience, cancel):
    manager = UserFactory(role="manager", username="manager-c")
    marketing = campaign()
    services.campaigns_run()
    closed = services.campaign_close(campaign=marketing, by=manager, cancel=cancel)
    assert closed == 2
    marketing.refresh_from_db()
    assert marketing.status == ("cancelled" if cancel else "ended")
    assert FollowUpTask.objects.get(kind="campaign").status == FollowUpTask.Status.CANCELLED
    assert Message.objects.get(purpose="campaign").status == Message.Status.CANCELLED
    with pytest.raises(DomainError):
        services.campaign_close(campaign=marketing, by=manager, cancel=cancel)
    assert services.campaigns_run()["planned"] == 0


def test_a_campaign_past_its_end_date_is_ended_by_the_sweep(audience, monkeypatch):
    from django.utils import timezone

    marketing = campaign(ends_on=TODAY + timedelta(days=1))
    services.campaigns_run()
    monkeypatch.setattr(timezone, "now", lambda: NOW + timedelta(days=2))
    assert services.campaigns_run()["ended"] == 1
    marketing.refresh_from_db()
    assert marketing.status == Campaign.Status.ENDED
    assert FollowUpTask.objects.get(kind="campaign").status == FollowUpTask.Status.CANCELLED
    assert Message.objects.get(purpose="campaign").status == Message.Status.CANCELLED


def test_a_sent_message_and_a_finished_call_stay_as_they_are_when_the_campaign_ends(audience):
    manager = UserFactory(role="manager", username="manager-d")
    marketing = campaign()
    services.campaigns_run()
    assert message_send(message_id=Message.objects.get(purpose="campaign").pk) == "sent"
    assert services.campaign_close(campaign=marketing, by=manager, cancel=False) == 1
    assert Message.objects.get(purpose="campaign").status == Message.Status.SENT


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"audience": "service_due", "due_within_days": None}, "due_within_days"),
        ({"audience": "value_tier", "value_tier": ""}, "value_tier"),
        ({"audience": "vehicle_model", "vehicle_model": ""}, "vehicle_model"),
        ({"audience": "vin_list"}, "audience"),
        ({"kind": "recall"}, "audience"),
        ({"message_template": ""}, "message_template"),
        ({"message_template": "{name} 您好"}, "message_template"),
        ({"ends_on": TODAY - timedelta(days=1)}, "ends_on"),
        (
            {
                "audience": "last_visit",
                "last_visit_from": TODAY,
                "last_visit_to": TODAY - timedelta(days=9),
            },
            "last_visit_to",
        ),
    ],
)
def test_bad_campaigns_are_refused_with_nothing_written(fields, field):
    values = {
        "name": "x",
        "kind": "marketing",
        "audience": "vehicle_model",
        "vehicle_model": "朗逸",
        "channel": "both",
        "message_template": "{plate}",
        "starts_at": NOW,
        "ends_on": TODAY + timedelta(days=3),
        **fields,
    }
    with pytest.raises(ValidationError) as refused:
        services.campaign_create(campaign=Campaign(**values), by=None)
    assert field in refused.value.message_dict
    assert not Campaign.objects.exists()


def _sweep_in_threads(count: int) -> list:
    barrier, errors = threading.Barrier(count), []

    def sweep():
        try:
            barrier.wait()
            services.campaigns_run()
        except Exception as exc:  # asserted by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_two_beats_at_once_contact_each_customer_once():
    from tests.factories import contact_all_day

    contact_all_day()
    owners = [customer_with_car()[0] for _ in range(60)]
    marketing = campaign()
    assert _sweep_in_threads(2) == []
    assert _sweep_in_threads(2) == []  # and again
    assert CampaignContact.objects.filter(campaign=marketing).count() == len(owners)
    assert FollowUpTask.objects.filter(kind="campaign").count() == len(owners)
    assert Message.objects.filter(purpose="campaign").count() == len(owners)
    assert not CampaignContact.objects.filter(planned_at=None).exists()
    marketing.refresh_from_db()
    assert marketing.status == Campaign.Status.RUNNING
