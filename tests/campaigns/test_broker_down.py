"""A campaign with the broker dead at the worst moment: the sweep has planned the contact
and queued its message, and the send task is refused. The message waits in the outbox (the
database) and the outbox's own sweep sends it once; later campaign sweeps add nothing."""

from datetime import timedelta

import pytest
from kombu.exceptions import OperationalError

import shopcrm.celery
from campaigns import services
from campaigns.models import CampaignContact
from followups.models import FollowUpTask
from messaging.backends import LocmemBackend
from messaging.models import Message
from messaging.services import message_send_due
from tests.campaigns.helpers import NOW, campaign, customer_with_car
from tests.factories import contact_all_day

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down(monkeypatch):
    """Every task sent is refused as a dead Redis refuses it; the refused names are kept."""
    refused = []

    class Refused:
        def __init__(self, name):
            self.name = name

        def apply_async(self, **options):
            refused.append(self.name)
            raise OperationalError("Error 111 connecting to 127.0.0.1:6399. Connection refused.")

    monkeypatch.setattr(shopcrm.celery.app, "signature", lambda name, args=(): Refused(name))
    monkeypatch.setattr(shopcrm.celery, "_broker_down_until", 0.0)
    return refused


def test_with_the_broker_down_the_outbox_sweep_sends_the_campaign_message_once(
    broker_down, django_capture_on_commit_callbacks
):
    owner, _vehicle = customer_with_car()
    contact_all_day()
    LocmemBackend.outbox.clear()
    marketing = campaign()
    with django_capture_on_commit_callbacks(execute=True):
        services.campaigns_run(now=NOW)
    assert broker_down  # the fast path was tried, and refused
    assert LocmemBackend.outbox == []
    contact = CampaignContact.objects.get(campaign=marketing)
    assert contact.task.status == FollowUpTask.Status.PENDING  # a row: the queue hands it out
    assert contact.message.status == Message.Status.QUEUED

    message_send_due(now=NOW + timedelta(minutes=1))
    message_send_due(now=NOW + timedelta(minutes=2))
    assert [m.recipient for m in LocmemBackend.outbox] == [owner.phone]

    with django_capture_on_commit_callbacks(execute=True):
        services.campaigns_run(now=NOW + timedelta(minutes=5))
    assert Message.objects.filter(purpose="campaign").count() == 1
    assert FollowUpTask.objects.filter(kind="campaign").count() == 1
