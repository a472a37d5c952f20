"""Loads the routing configuration: an SSM parameter in AWS (Powertools parameters, cached per
warm container), a file in the local stack. Either way it is validated on load and a bad
document fails with its field paths."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from aws_lambda_powertools.utilities.parameters import get_parameter
from pydantic import ValidationError

from ecmpush.domain.delivery.routing_config import RoutingConfig
from ecmpush.domain.field_errors import field_errors
from ecmpush.settings import ConfigurationError


@lru_cache(maxsize=4)
def parse_routing(raw: str, source: str) -> RoutingConfig:
    """Memoized on the text: Powertools hands back the same cached parameter value until it
    expires, so a fan-out asking for the routing per recipient parses it once."""
    try:
        return RoutingConfig.model_validate_json(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{e['path']}: {e['message']}" for e in field_errors(exc))
        raise ConfigurationError(f"routing configuration {source} is invalid: {problems}") from exc


def load_routing(parameter_name: str, file: str | None = None, max_age: int = 300) -> RoutingConfig:
    if file:
        return parse_routing(Path(file).read_text(), file)
    raw = get_parameter(parameter_name, max_age=max_age)
    if not isinstance(raw, str):
        raise ConfigurationError(f"routing parameter {parameter_name} is not a string")
    return parse_routing(raw, parameter_name)
