"""Token authentication reads the user's roles in the token's own query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.survey.api.helpers import assert_error, submission_body, submission_url

pytestmark = pytest.mark.django_db


def test_a_submission_reads_token_user_and_roles_in_one_query(collector_client):
    with CaptureQueriesContext(connection) as queries:
        response = collector_client.post(submission_url(), submission_body(), format="json")
    assert response.status_code == 201, response.json()
    touching = [q["sql"] for q in queries if "auth_group" in q["sql"] or "authtoken" in q["sql"]]
    assert len(touching) == 1, touching
    assert "authtoken_token" in touching[0] and "auth_group" in touching[0]


@pytest.mark.parametrize(
    ("roles", "superuser", "expected"),
    [
        (("collector",), False, 201),
        (("analyst",), False, 403),
        (("analyst", "collector"), False, 201),
        (("admin",), False, 201),
        ((), True, 201),
        (("viewer",), False, 403),  # a group that is not a role
        ((), False, 403),
    ],
)
def test_the_roles_read_with_the_token_decide_who_may_submit(
    make_user, client_for, ipb, roles, superuser, expected
):
    user = make_user("someone", *roles, grants=(ipb,), superuser=superuser)
    response = client_for(user).post(submission_url(), submission_body(), format="json")
    assert response.status_code == expected, response.json()


def test_an_unknown_token_and_an_inactive_user_are_refused_with_401(make_user, client_for, ipb):
    user = make_user("collector", "collector", grants=(ipb,))
    client = client_for(user)
    user.is_active = False
    user.save()
    assert_error(
        client.post(submission_url(), submission_body(), format="json"), 401, "not_authenticated"
    )
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert_error(
        client.post(submission_url(), submission_body(), format="json"), 401, "not_authenticated"
    )
