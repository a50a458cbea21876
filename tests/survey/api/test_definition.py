import pytest
import yaml

from survey.services.questionnaires import questionnaire_close
from tests.conftest import EXAMPLE_DEFINITION
from tests.survey.api.helpers import assert_error, definition_url

pytestmark = pytest.mark.django_db


def test_anyone_reads_an_open_questionnaires_definition(client_for, ipb):
    response = client_for(None).get(definition_url())
    assert response.status_code == 200
    body = response.json()
    assert body["slug"] == "ipb-survey"
    assert body["status"] == "open"
    assert body["definition_version"] == ipb.definition_version
    assert body["definition"]["format"] == "questionnaire/v1"


def test_the_definition_is_the_questionnaire_v1_export_of_the_reference_file(client_for, ipb):
    body = client_for(None).get(definition_url()).json()
    assert body["definition"] == yaml.safe_load(EXAMPLE_DEFINITION.read_text(encoding="utf-8"))


def test_a_closed_questionnaires_definition_is_still_readable_with_its_status(client_for, ipb):
    questionnaire_close(questionnaire=ipb)
    response = client_for(None).get(definition_url())
    assert response.status_code == 200
    assert response.json()["status"] == "closed"


def test_a_draft_is_not_found_for_the_public(client_for, ipb_draft):
    assert_error(client_for(None).get(definition_url()), 404, "not_found")


def test_a_draft_is_not_found_for_a_collector(client_for, make_user, ipb_draft):
    collector = make_user("c", "collector", grants=(ipb_draft,))
    assert_error(client_for(collector).get(definition_url()), 404, "not_found")


def test_a_draft_is_not_found_for_an_analyst_of_another_questionnaire(
    client_for, other_analyst, ipb_draft
):
    assert_error(client_for(other_analyst).get(definition_url()), 404, "not_found")


def test_a_granted_analyst_and_an_admin_read_a_draft(client_for, make_user, ipb_draft):
    analyst = make_user("a", "analyst", grants=(ipb_draft,))
    admin = make_user("boss", "admin")
    for user in (analyst, admin):
        response = client_for(user).get(definition_url())
        assert response.status_code == 200
        assert response.json()["status"] == "draft"


def test_an_unknown_questionnaire_is_404(client_for, db):
    assert_error(client_for(None).get(definition_url("nope")), 404, "not_found")


def test_a_bad_token_is_401_even_on_the_public_endpoint(ipb):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token wrong")
    assert_error(client.get(definition_url()), 401, "not_authenticated")


def test_writing_to_the_definition_is_405(client_for, ipb):
    response = client_for(None).post(definition_url(), {}, format="json")
    assert_error(response, 405, "method_not_allowed")
