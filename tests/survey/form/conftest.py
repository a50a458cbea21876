from __future__ import annotations

import pytest

from tests.survey.form.helpers import open_form, post_data


@pytest.fixture
def submit_form(client):
    """Open the form, then POST these answers with its tokens; returns the POST's response."""

    def submit(answers, url="/s/ipb-survey/", **headers):
        _page, fields = open_form(client, url, **headers)
        return client.post(url, post_data(answers, fields), **headers)

    return submit
