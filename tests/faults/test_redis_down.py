"""Redis down: degrade, don't die (issue 15, part 2). A real gunicorn on a private
redis-server that is then killed: a signed-in advisor goes on working, a new login works,
the check-in and the delivery are saved, and the DMS reads and syncs. The deliveries' calls
come from the sweep once a worker runs again (tests/faults/test_broker_killed.py)."""

import re

import pytest
import requests
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from tests.factories import UserFactory, api_key
from tests.faults.processes import App, PrivateRedis
from tests.visits.test_views import new_check_in
from visits.models import Visit

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.faults,
    pytest.mark.django_db(transaction=True),
]
PASSWORD = "pw-for-tests-1"


def desk_user(username: str) -> None:
    """An advisor whose password the app's own hashers read (the tests' hasher is not one)."""
    user = UserFactory(role="advisor", username=username)
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "faults-salt", iterations=1000)
    user.save(update_fields=["password"])


def csrf_of(page: requests.Response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)


def post_from(session: requests.Session, page: str, action: str, data: dict):
    """GET ``page``, POST ``data`` to ``action`` with the page's CSRF token, as its form
    does; the answer without following redirects."""
    form = session.get(page, timeout=30)
    assert form.status_code == 200, form.text[-2000:]
    return session.post(
        action,
        data={**data, "csrfmiddlewaretoken": csrf_of(form)},
        headers={"Referer": page},
        allow_redirects=False,
        timeout=30,
    )


def submit(session: requests.Session, url: str, data: dict) -> requests.Response:
    return post_from(session, url, url, data)


def signed_in(url: str, username: str) -> requests.Session:
    session = requests.Session()
    answer = submit(session, f"{url}/accounts/login/", {"username": username, "password": PASSWORD})
    assert answer.status_code == 302, answer.text[-2000:]
    return session


def test_with_redis_killed_the_desk_and_the_dms_carry_on(tmp_path):
    desk_user("desk-1")
    desk_user("desk-2")
    dms = {"Authorization": f"Token {api_key(UserFactory(role='dms_client'))}"}
    redis = PrivateRedis(tmp_path).start()
    app = App(redis.url, tmp_path)
    try:
        url = app.web()
        before = signed_in(url, "desk-1")  # a session cached in Redis, then Redis dies
        assert before.get(f"{url}/board/", timeout=30).status_code == 200
        redis.kill()

        assert before.get(f"{url}/board/", timeout=30).status_code == 200
        desk = signed_in(url, "desk-2")  # the login page and a new session
        board = desk.get(f"{url}/board/", timeout=30)
        assert board.status_code == 200 and "desk-2" in board.text

        answer = submit(desk, f"{url}/visits/check-in/", new_check_in())
        assert answer.status_code == 302, answer.text[-2000:]
        visit = Visit.objects.get(customer__name="赵敏")
        page = f"{url}/visits/{visit.pk}/"
        for status in ("in_progress", "quality_check", "ready"):
            moved = post_from(desk, page, f"{page}transition/", {"to_status": status})
            assert moved.status_code == 302, moved.text[-2000:]
        delivered = post_from(
            desk, page, f"{page}deliver/", {"labour_amount": "300", "parts_amount": "200"}
        )
        assert delivered.status_code == 302, delivered.text[-2000:]
        visit.refresh_from_db()
        assert visit.status == Visit.Status.DELIVERED

        read = requests.get(f"{url}/api/v1/customers/", headers=dms, timeout=30)
        assert read.status_code == 200 and read.json()["results"]
        synced = requests.post(
            f"{url}/api/v1/sync/customers/",
            json=[{"external_id": "RD1", "name": "钱多多", "phone": "13900000001"}],
            headers=dms,
            timeout=30,
        )
        assert synced.status_code == 200 and synced.json()["created"] == 1
    finally:
        app.stop()
        redis.kill()
    assert "Redis unavailable" in app.log("web.log")
