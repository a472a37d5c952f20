"""Settings from the environment: every field from `ECMPUSH_<FIELD>`, its default written once
(on the field), a blank variable read as unset, integers and required names checked at the
cold start with the variable's name in the error."""

from __future__ import annotations

import os
from typing import Any

import pytest

from ecmpush.settings import (
    LAMBDA_RUNTIME_VARIABLES,
    LOCAL_ONLY,
    LOCAL_STACK_MARKER,
    ConfigurationError,
    Settings,
    variable,
)

REQUIRED = [name for name, spec in Settings.model_fields.items() if spec.is_required()]


@pytest.fixture
def required(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith("ECMPUSH_"):
            monkeypatch.delenv(name)
    for field in REQUIRED:
        monkeypatch.setenv(variable(field), f"value-of-{field}")
    return monkeypatch


def test_unset_and_blank_variables_take_the_fields_defaults(required: pytest.MonkeyPatch) -> None:
    required.setenv("ECMPUSH_SLA_GRACE_HOURS", "  ")
    loaded = Settings.from_env()
    for name, spec in Settings.model_fields.items():
        if not spec.is_required():
            assert getattr(loaded, name) == spec.default, name


def test_set_variables_are_read_and_base_urls_lose_their_trailing_slash(
    required: pytest.MonkeyPatch,
) -> None:
    required.setenv("ECMPUSH_DELIVERY_BATCH_SIZE", "40")
    required.setenv(LOCAL_STACK_MARKER, "1")
    required.setenv("ECMPUSH_ROUTING_FILE", "/tmp/routing.json")
    required.setenv("ECMPUSH_APP_BASE_URL", "https://app.example.com/")
    required.setenv("ECMPUSH_ECM_BASE_URL", "https://ecm.example.com/otcs/cs.exe/")
    loaded = Settings.from_env()
    assert loaded.delivery_batch_size == 40
    assert loaded.routing_file == "/tmp/routing.json"
    assert loaded.app_base_url == "https://app.example.com"
    assert loaded.ecm_base_url == "https://ecm.example.com/otcs/cs.exe"
    assert loaded.events_table == "value-of-events_table"


@pytest.mark.parametrize("field", REQUIRED)
def test_a_missing_required_variable_is_named(required: pytest.MonkeyPatch, field: str) -> None:
    required.delenv(variable(field))
    with pytest.raises(ConfigurationError, match=variable(field)):
        Settings.from_env()


def test_an_integer_variable_that_is_not_one_is_named(required: pytest.MonkeyPatch) -> None:
    required.setenv("ECMPUSH_FCM_TIMEOUT_SECONDS", "5s")
    with pytest.raises(ConfigurationError, match="ECMPUSH_FCM_TIMEOUT_SECONDS must be an integer"):
        Settings.from_env()


def test_every_field_is_of_a_type_from_env_reads() -> None:
    """from_env reads text and whole numbers; a bool or float field would be read as text
    ("false" would be true), so adding one needs a reader first."""
    assert {f.annotation for f in Settings.model_fields.values()} <= {str, int, str | None}


@pytest.mark.parametrize("field", LOCAL_ONLY)
def test_a_local_only_variable_is_refused_on_lambda_even_with_the_local_marker(
    required: pytest.MonkeyPatch, field: str
) -> None:
    """Issue 20, finding 10: the marker can be set by whoever sets variables; Lambda's own
    reserved variables cannot be removed by them, so they decide."""
    required.setenv(variable(field), "http://attacker.example")
    required.setenv(LOCAL_STACK_MARKER, "1")
    for runtime_variable in LAMBDA_RUNTIME_VARIABLES:
        with required.context() as on_lambda:
            on_lambda.setenv(runtime_variable, "set-by-lambda")
            with pytest.raises(ConfigurationError, match=variable(field)):
                Settings.from_env()
    required.delenv(LOCAL_STACK_MARKER)
    with pytest.raises(ConfigurationError, match=variable(field)):
        Settings.from_env()  # not on Lambda, but not the local stack either


def test_lambda_without_local_only_variables_and_the_local_stack_with_them_load(
    required: pytest.MonkeyPatch,
) -> None:
    for runtime_variable in LAMBDA_RUNTIME_VARIABLES:
        required.setenv(runtime_variable, "set-by-lambda")
    assert Settings.from_env().fcm_base_url is None
    for runtime_variable in LAMBDA_RUNTIME_VARIABLES:
        required.delenv(runtime_variable)
    required.setenv(LOCAL_STACK_MARKER, "1")
    required.setenv("ECMPUSH_FCM_BASE_URL", "http://127.0.0.1:9099")
    assert Settings.from_env().fcm_base_url == "http://127.0.0.1:9099"


def test_every_setting_docs_call_local_only_is_refused_outside_the_local_stack() -> None:
    """A new local-only endpoint documented in docs/resources.md must join LOCAL_ONLY."""
    from tests.unit.test_template import local_only

    fields_read = {variable(name) for name in Settings.model_fields}
    assert local_only() & fields_read == {variable(f) for f in LOCAL_ONLY}


def test_a_local_only_variable_in_lower_case_is_refused_too(required: pytest.MonkeyPatch) -> None:
    """pydantic-settings reads `ecmpush_fcm_base_url` as ECMPUSH_FCM_BASE_URL: the refusal
    must see it under either spelling."""
    required.setenv("ecmpush_fcm_base_url", "http://attacker.example")
    with pytest.raises(ConfigurationError, match="ECMPUSH_FCM_BASE_URL"):
        Settings.from_env()


def test_integers_may_carry_surrounding_blanks(required: pytest.MonkeyPatch) -> None:
    required.setenv("ECMPUSH_DELIVERY_BATCH_SIZE", " 40 ")
    assert Settings.from_env().delivery_batch_size == 40


def test_settings_built_from_values_read_nothing_from_the_environment(
    required: pytest.MonkeyPatch,
) -> None:
    """Only `from_env` reads ECMPUSH_*: settings a test or a builder makes from values are
    those values and the defaults, whatever the local stack left in the environment."""
    required.setenv("ECMPUSH_FCM_CHUNK_SIZE", "7")
    values: dict[str, Any] = {name: f"value-of-{name}" for name in REQUIRED}
    assert Settings(**values).fcm_chunk_size == Settings.model_fields["fcm_chunk_size"].default
    assert Settings.from_env().fcm_chunk_size == 7
