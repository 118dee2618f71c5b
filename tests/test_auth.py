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
