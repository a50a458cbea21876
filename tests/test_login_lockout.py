"""Password guessing on the admin's login page is locked out (django-axes), in Chinese or
English, an admin can unlock, and no raw address is stored for it."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection

from wenji.hashing import address_pseudonym

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "a-long-and-right-password-9"


@pytest.fixture
def staff(settings):
    settings.AXES_FAILURE_LIMIT = 5
    return User.objects.create_superuser("boss", password=PASSWORD)


def _login(client, password, username="boss", **headers):
    return client.post(LOGIN, {"username": username, "password": password}, **headers)


def test_after_the_limit_even_the_right_password_is_refused_until_an_admin_unlocks(client, staff):
    codes = [_login(client, f"wrong-{n}").status_code for n in range(5)]
    assert codes == [200] * 4 + [429]  # the login form again, then the lockout page

    locked = _login(client, PASSWORD, HTTP_ACCEPT_LANGUAGE="en")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "_auth_user_id" not in client.session

    call_command("axes_reset_username", "boss")
    assert _login(client, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_the_lockout_page_is_in_chinese_by_default(client, staff):
    for n in range(5):
        _login(client, f"wrong-{n}")
    page = _login(client, PASSWORD).content.decode()
    assert "登录失败次数过多" in page


def test_guessing_many_accounts_from_one_address_is_locked_out_too(client, staff):
    codes = [_login(client, "x", username=f"user{n}").status_code for n in range(6)]
    assert codes[-1] == 429


def test_only_a_keyed_pseudonym_of_the_address_is_stored(client, staff):
    _login(client, "wrong")
    (attempt,) = AccessAttempt.objects.all()
    assert attempt.ip_address == address_pseudonym("127.0.0.1")
    assert attempt.ip_address.startswith("fd") and "127.0.0.1" not in attempt.ip_address
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM axes_accessattempt")
        assert "127.0.0.1" not in repr(cursor.fetchall())
