"""A first start with a backlog of reminders does not delay a delivered car's call (issue 16,
bug 4), with the real processes on the embedded broker (kombu's filesystem transport, what
`run.sh` uses without Redis).

1,500 vehicles are due for their maintenance reminder, every owner consents to SMS, and the
reminder sweep runs before the worker starts (as `seed_demo` does on a first start). Then
gunicorn, a worker (two processes, as run.sh) and beat start, and the DMS delivers a car.
Its three-day call and its survey invitation must be made within a minute. Before the fix
each reminder SMS was a task on the one queue: the 1,500 went ahead of the delivery's tasks
at about two a second, and the call came ten minutes late."""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
import requests
from django.conf import settings
from django.utils import timezone

from customers.models import Customer, Vehicle
from followups.models import FollowUpTask
from messaging.models import Message
from surveys.models import SurveyInvitation
from tests.factories import UserFactory, api_key, contact_all_day, valid_vin
from tests.faults.processes import App, wait_for
from visits.models import Visit

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
]
DUE = 1500


def a_shop_with_reminders_due() -> None:
    """1,500 cars serviced 176 days ago at 4,000 km, registered 400 days ago: each is due
    for its next service within the reminder window (followups.states)."""
    contact_all_day()  # messages go out whenever the test runs
    customers = Customer.objects.bulk_create(
        [
            Customer(name=f"积压{n}", phone=f"+86138{n:08d}", marketing_consent=True)
            for n in range(DUE)
        ]
    )
    today = timezone.localdate()
    vehicles = Vehicle.objects.bulk_create(
        [
            Vehicle(
                owner=c,
                vin=valid_vin(700_000 + n),
                plate="",
                registration_date=today - timedelta(days=400),
            )
            for n, c in enumerate(customers)
        ]
    )
    delivered = timezone.now() - timedelta(days=176)
    Visit.objects.bulk_create(
        [
            Visit(
                ro_number=f"RO-B-{n}",
                vehicle=v,
                customer=v.owner,
                service_type="maintenance",
                status=Visit.Status.DELIVERED,
                checked_in_at=delivered - timedelta(hours=2),
                promised_at=delivered,
                delivered_at=delivered,
                odometer_km=4000,
            )
            for n, v in enumerate(vehicles)
        ]
    )


def the_reminder_sweep_before_the_worker_starts(app: App) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from followups.services import reminder_create_due; print(reminder_create_due())",
        ],
        cwd=settings.BASE_DIR,
        env=app.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_a_car_delivered_after_a_first_start_gets_its_call_within_a_minute(tmp_path, capsys):
    a_shop_with_reminders_due()
    owner = Customer.objects.create(
        name="刚交车", phone="+8613900000000", external_id="BACKLOG-C", marketing_consent=True
    )
    Vehicle.objects.create(owner=owner, vin=valid_vin(699_999), external_id="BACKLOG-V")
    token = api_key(UserFactory(role="dms_client", username="dms-backlog"))
    app = App("", tmp_path)  # no REDIS_URL: the embedded broker in tmp_path
    try:
        assert the_reminder_sweep_before_the_worker_starts(app) == str(DUE)
        reminders = Message.objects.filter(purpose="maintenance_reminder")
        assert reminders.count() == DUE
        url = app.web()
        app.worker("w1", concurrency=2)
        app.beat("b1")
        time.sleep(5)  # the worker is into the backlog

        delivered = timezone.now()
        answer = requests.post(
            f"{url}/api/v1/sync/visits/",
            json=[
                {
                    "external_id": "BACKLOG-1",
                    "ro_number": "RO-BACKLOG-1",
                    "vehicle_external_id": "BACKLOG-V",
                    "service_type": "maintenance",
                    "status": "delivered",
                    "checked_in_at": (delivered - timedelta(hours=2)).isoformat(),
                    "delivered_at": delivered.isoformat(),
                }
            ],
            headers={"Authorization": f"Token {token}"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["failed"] == 0, answer.text
        visit = Visit.objects.get(external_id="BACKLOG-1")
        started = time.monotonic()
        called = wait_for(
            lambda: FollowUpTask.objects.filter(
                visit=visit, kind=FollowUpTask.Kind.POST_SERVICE
            ).exists(),
            timeout=60,
        )
        waited = time.monotonic() - started
        unsent = reminders.exclude(status=Message.Status.SENT).count()
        assert called, (
            f"no call after 60 s; {unsent} reminders not yet sent",
            app.log("worker-w1.log"),
        )
        assert wait_for(lambda: SurveyInvitation.objects.filter(visit=visit).exists(), 30)
        assert wait_for(lambda: not reminders.exclude(status=Message.Status.SENT).exists(), 240), (
            reminders.exclude(status=Message.Status.SENT).count(),
            app.log("worker-w1.log"),
        )
    finally:
        app.stop()
    with capsys.disabled():
        print(
            f"\nfirst start with {DUE} reminder SMS queued: the delivered car's call after "
            f"{waited:.1f} s ({unsent} reminders still unsent then); all sent afterwards"
        )
