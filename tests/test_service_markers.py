import pytest

from tests import conftest


def test_a_missing_service_skips_on_a_laptop(monkeypatch):
    monkeypatch.setattr(conftest, "REQUIRE_SERVICES", False)
    monkeypatch.setitem(conftest.SERVICE_CHECKS, "redis", lambda: "not here")
    item = pytest.Function.__new__(pytest.Function)
    monkeypatch.setattr(
        item, "get_closest_marker", lambda name: name == "redis" or None, raising=False
    )
    with pytest.raises(pytest.skip.Exception, match="needs redis: not here"):
        conftest.pytest_runtest_setup(item)


def test_a_missing_service_fails_when_services_are_required(monkeypatch):
    monkeypatch.setattr(conftest, "REQUIRE_SERVICES", True)
    monkeypatch.setitem(conftest.SERVICE_CHECKS, "redis", lambda: "not here")
    item = pytest.Function.__new__(pytest.Function)
    monkeypatch.setattr(
        item, "get_closest_marker", lambda name: name == "redis" or None, raising=False
    )
    with pytest.raises(pytest.fail.Exception, match="REQUIRE_SERVICES=1"):
        conftest.pytest_runtest_setup(item)


def test_the_example_definition_is_the_shared_reference_file(reference_definition_path):
    shared = conftest.REFERENCE_DIR / "ipb-survey.yaml"
    if not shared.exists():
        pytest.skip("shared/reference is not beside this checkout")
    assert reference_definition_path.read_bytes() == shared.read_bytes()
