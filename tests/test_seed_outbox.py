"""The demo does not flood the outbox on a first start (issue 16, bug 4): the reminder SMS
whose window opened before today are history (sent that day, in the contact hours); only
the windows that open today wait to be sent."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from followups.models import FollowUpPolicy
from messaging.models import Message


@pytest.mark.django_db
def test_the_demo_leaves_only_todays_reminders_in_the_outbox():
    call_command("seed_demo", "--customers", "400", stdout=StringIO())
    lead = timedelta(days=FollowUpPolicy.current().reminder_lead_days)
    today = timezone.localdate()
    reminders = Message.objects.filter(purpose="maintenance_reminder")
    sent = reminders.filter(status=Message.Status.SENT)
    assert sent.count() > 10
    for message in sent:
        local = timezone.localtime(message.sent_at)
        assert local.date() < today and 10 <= local.hour < 17, local
        assert local.date() == timezone.datetime.fromisoformat(message.params["date"]).date() - lead
    waiting = reminders.exclude(status=Message.Status.SENT)
    assert waiting.count() < sent.count() / 3
    for message in waiting:
        assert timezone.datetime.fromisoformat(message.params["date"]).date() - lead >= today
