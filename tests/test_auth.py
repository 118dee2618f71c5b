"""Login, logout and the lockout after repeated failures (django-axes)."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_login_lands_the_advisor_on_the_board(client):
    UserFactory(role="advisor", username="desk")
    response = client.post(reverse("login"), {"username": "desk", "password": "pw-for-tests-1"})
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response["Location"] == reverse("visits:board")


def test_wrong_password_is_a_clear_message(client):
    UserFactory(role="advisor", username="desk")
    response = client.post(reverse("login"), {"username": "desk", "password": "wrong"})
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()


def test_five_failures_lock_the_account_even_with_the_right_password(client, settings):
    UserFactory(role="advisor", username="desk")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "desk", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "desk", "password": "pw-for-tests-1"})
    assert response.status_code == 429
    assert "账号已暂时锁定" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_logout_needs_post_and_ends_the_session(client):
    user = UserFactory(role="advisor", username="desk")
    client.force_login(user)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert client.get(reverse("visits:board")).status_code == 302


def test_language_switch_to_english_and_back(client):
    UserFactory(role="advisor", username="desk")
    page = client.get(reverse("login"))
    assert page["Content-Language"] == "zh-hans"
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("login"), headers={"accept-language": "zh-CN"})
    assert page["Content-Language"] == "en"
    assert "Log in" in page.content.decode()


def test_browser_language_does_not_override_chinese_first(client):
    page = client.get(reverse("login"), headers={"accept-language": "en-US,en;q=0.9"})
    assert page["Content-Language"] == "zh-hans"
    assert "登录" in page.content.decode()


# ---------------------------------------------------------------- issue 15, part 7


def test_failures_across_usernames_from_one_address_lock_that_address(client, settings):
    """Password spraying: one guess each for many usernames never reaches axes' per-user
    limit; the address's total does."""
    settings.LOGIN_FAILURES_PER_ADDRESS = 6
    UserFactory(role="advisor", username="desk")
    for n in range(6):
        client.post(reverse("login"), {"username": f"guess{n}", "password": "123456"})
    response = client.post(reverse("login"), {"username": "desk", "password": "pw-for-tests-1"})
    assert response.status_code == 200
    assert "登录失败次数过多" in response.content.decode()
    assert "_auth_user_id" not in client.session
    other = client_at("10.0.0.9")  # another machine is not affected
    answer = other.post(reverse("login"), {"username": "desk", "password": "pw-for-tests-1"})
    assert answer.status_code == 302


def client_at(address: str):
    from django.test import Client

    return Client(REMOTE_ADDR=address)


@pytest.mark.parametrize("role", ["dms_client", "hotline_client"])
def test_api_clients_cannot_sign_in_to_pages(client, role):
    UserFactory(role=role, username="dms-web")
    response = client.post(reverse("login"), {"username": "dms-web", "password": "pw-for-tests-1"})
    assert response.status_code == 200
    assert "接口账号只能通过 API 访问" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_idle_session_is_signed_out(client, settings, monkeypatch):
    from shopcrm import sessions

    settings.SESSION_IDLE_MINUTES = 30
    clock = [1_800_000_000.0]
    monkeypatch.setattr(sessions.time, "time", lambda: clock[0])
    client.force_login(UserFactory(role="advisor", username="desk"))
    assert client.get(reverse("visits:board")).status_code == 200
    clock[0] += 29 * 60
    assert client.get(reverse("visits:board")).status_code == 200  # in use: it goes on
    clock[0] += 29 * 60
    assert client.get(reverse("visits:board")).status_code == 200
    assert client.session.get_expiry_age() == 30 * 60  # the cookie and the row expire too
    clock[0] += 31 * 60
    response = client.get(reverse("visits:board"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "未操作" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_seed_demo_never_touches_a_database_with_data_or_runs_in_production(settings):
    from io import StringIO

    from django.contrib.auth import get_user_model
    from django.core.management import CommandError, call_command

    from tests.factories import CustomerFactory

    CustomerFactory()  # a real shop's data
    call_command("seed_demo", "--if-empty", stdout=StringIO())
    assert not get_user_model().objects.filter(username="manager").exists()
    with pytest.raises(CommandError, match="empty"):
        call_command("seed_demo", "--customers", "5", stdout=StringIO())
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo", "--if-empty", stdout=StringIO())
