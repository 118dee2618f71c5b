"""Nothing falls through the cracks when the broker dies (issue 15, part 1), with the real
processes: gunicorn, two Celery workers and two beats at once on a private redis-server and
the test database.

Redis is killed with SIGKILL while the web process is queueing the effects of a committed
1000-visit DMS batch (the tasks already queued die with it: no persistence), the DMS's
retry gets the first answer, Redis comes back empty, and both workers are killed with
SIGKILL in the middle of the sweep that repairs it. Within five minutes every visit has
exactly one three-day call, exactly one e-RO message (issue 17's service messages) and, when
its customer consented, exactly one invitation."""

import threading
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from customers.models import Customer, Vehicle
from followups.models import FollowUpTask
from messaging.models import Message
from surveys.models import SurveyInvitation
from tests.factories import UserFactory, api_key, valid_vin
from tests.faults.processes import App, PrivateRedis, wait_for
from visits.models import Visit

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
]
BATCH = 1000


def service_message_templates() -> None:
    """The service messages' texts, as their data migrations seed them (an earlier
    transactional test's flush removes them)."""
    from importlib import import_module

    from django.apps import apps

    for name in ("0002_seed_templates", "0004_extra_work_template"):
        import_module(f"servicemessages.migrations.{name}").seed(apps, None)


def the_shop() -> list[dict]:
    """1000 customers (every other one consents to surveys) with a car each, and the DMS
    batch that delivers one visit per car five hours ago."""
    service_message_templates()
    customers = Customer.objects.bulk_create(
        [
            Customer(
                name=f"故障{n}",
                phone=f"+86137{n:08d}",
                external_id=f"FC{n}",
                marketing_consent=n % 2 == 0,
            )
            for n in range(BATCH)
        ]
    )
    Vehicle.objects.bulk_create(
        [
            Vehicle(owner=c, vin=valid_vin(800_000 + n), plate="", external_id=f"FV{n}")
            for n, c in enumerate(customers)
        ]
    )
    delivered = timezone.now() - timedelta(hours=5)
    return [
        {
            "external_id": f"FR{n}",
            "ro_number": f"RO-F-{n}",
            "vehicle_external_id": f"FV{n}",
            "service_type": "maintenance",
            "status": "delivered",
            "checked_in_at": (delivered - timedelta(hours=3)).isoformat(),
            "delivered_at": delivered.isoformat(),
            "labour_amount": "300.00",
            "parts_amount": "200.00",
        }
        for n in range(BATCH)
    ]


def post_batch(url: str, token: str, batch: list, key: str) -> requests.Response:
    return requests.post(
        f"{url}/api/v1/sync/visits/",
        json=batch,
        headers={"Authorization": f"Token {token}", "Idempotency-Key": key},
        timeout=240,
    )


def post_service_calls() -> int:
    return FollowUpTask.objects.filter(kind=FollowUpTask.Kind.POST_SERVICE).count()


def e_ros() -> int:
    """The "delivered" service messages (issue 17): one per visit, for every customer."""
    return Message.objects.filter(purpose=Message.Purpose.SERVICE_DELIVERED).count()


def converged() -> bool:
    return (
        post_service_calls() == BATCH
        and SurveyInvitation.objects.count() == BATCH // 2
        and e_ros() == BATCH
    )


def test_redis_killed_mid_batch_and_workers_killed_mid_sweep_lose_nothing(tmp_path, capsys):
    batch = the_shop()
    token = api_key(UserFactory(role="dms_client", username="dms-faults"))
    broker = PrivateRedis(tmp_path).start()
    app = App(broker.url, tmp_path)
    try:
        url = app.web()
        workers = [app.worker("w1"), app.worker("w2")]
        app.beat("b1"), app.beat("b2")  # two beats at once: every sweep is sent twice

        # Kill Redis once the committed batch's tasks are being queued.
        answers = {}
        before = broker.pushes()
        sender = threading.Thread(
            target=lambda: answers.update(first=post_batch(url, token, batch, "faults-1"))
        )
        sender.start()
        assert wait_for(lambda: broker.pushes() >= before + 50, timeout=180, every=0.002)
        broker.kill()
        sender.join(timeout=240)
        first = answers["first"]
        assert first.status_code == 200, first.text
        body = first.json()
        assert (body["created"], body["failed"]) == (BATCH, 0)
        assert Visit.objects.filter(status=Visit.Status.DELIVERED).count() == BATCH
        lost = BATCH - post_service_calls(), BATCH // 2 - SurveyInvitation.objects.count()

        broker.start()  # back, and empty
        replay = post_batch(url, token, batch, "faults-1")
        assert (replay.status_code, replay.json()) == (200, body)
        assert replay.headers["Idempotent-Replayed"] == "true"

        # Kill both workers in the middle of the repairing sweep; a fresh one carries on.
        made = post_service_calls()
        assert wait_for(lambda: post_service_calls() > made, timeout=150, every=0.05), app.log(
            "beat-b1.log"
        ) + app.log("worker-w1.log")
        for worker in workers:
            worker.kill()
        app.worker("w3")
        assert wait_for(converged, timeout=300, every=1), (
            post_service_calls(),
            SurveyInvitation.objects.count(),
            e_ros(),
            app.log("worker-w3.log"),
        )
    finally:
        app.stop()
        broker.kill()

    calls = FollowUpTask.objects.filter(kind=FollowUpTask.Kind.POST_SERVICE)
    assert calls.values("visit_id").distinct().count() == BATCH
    e_ro_visits = Message.objects.filter(purpose=Message.Purpose.SERVICE_DELIVERED)
    assert e_ro_visits.values("visit_id").distinct().count() == BATCH  # none twice
    invited = SurveyInvitation.objects.values_list("customer__marketing_consent", flat=True)
    assert len(invited) == BATCH // 2 and all(invited)
    with capsys.disabled():
        print(
            f"\nbroker killed mid-batch: {lost[0]} calls and {lost[1]} invitations were "
            f"missing when it died; after the sweeps: {calls.count()} calls, "
            f"{len(invited)} invitations, none twice"
        )
