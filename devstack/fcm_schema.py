"""FCM HTTP v1 send requests checked as Google checks them, from Google's own published schema.

Why: a stand-in that accepts what FCM refuses lets a renderer regression through every test. The
schema is Google's FCM v1 discovery document (`fcm.v1.json`), as shipped in the
`google-api-python-client` package (a test-only dependency, requirements/dev.txt), read at run
time, so a newer document is picked up by bumping the pin, not by editing a copy.

Two layers, in the order Google's front end applies them:

- `parse_violations`: what the proto-JSON parser refuses before FCM sees anything: unknown
  names at any depth, wrong JSON types, enum values outside the enum, malformed durations and
  timestamps. As proto-JSON does, a field may be spelt by its JSON name (camelCase, as in the
  discovery document) or its proto name (snake_case, as firebase-admin sends it), enum values
  match regardless of case (firebase-admin sends `android.priority` as "high"), and null is an
  absent field. The answer is Google's: 400 INVALID_ARGUMENT whose message joins one line per
  error, with one `google.rpc.BadRequest` field violation each, at proto paths like
  `message.data[0].value` (FCM's error-codes page, "Example 1") or, for an unknown name, the
  object that holds it (`message.android`); at the request's root the violation has no field.
- `fcm_violation`: what FCM's documentation states and a schema cannot say: one target, no
  reserved data keys, an https `webpush.fcm_options.link`, the 4096-byte payload. These come
  back with FCM's `FcmError` detail (errorCode INVALID_ARGUMENT).
"""

from __future__ import annotations

import functools
import importlib.resources
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DISCOVERY_PACKAGE = "googleapiclient.discovery_cache"
DISCOVERY_FILE = "documents/fcm.v1.json"
REQUEST_SCHEMA = "SendMessageRequest"
PROTO_PACKAGE = "type.googleapis.com/google.firebase.fcm.v1."
TARGET_FIELDS = ("token", "fid", "topic", "condition")
MAX_PAYLOAD_BYTES = 4096

# Enum type names as the parser names them in its errors (the discovery document has only the
# values). Unlisted enums fall back to `<Schema>.<Field>`.
_ENUM_TYPES = {
    ("AndroidConfig", "priority"): "AndroidMessagePriority",
    ("AndroidNotification", "notificationPriority"): "AndroidNotification.NotificationPriority",
    ("AndroidNotification", "visibility"): "AndroidNotification.Visibility",
    ("AndroidNotification", "proxy"): "AndroidNotification.Proxy",
}
# Scalar types as the parser names them: (discovery type, format) → proto type.
_SCALAR_TYPES = {
    ("string", None): "TYPE_STRING",
    ("boolean", None): "TYPE_BOOL",
    ("integer", "int32"): "TYPE_INT32",
    ("integer", "uint32"): "TYPE_UINT32",
    ("string", "int64"): "TYPE_INT64",
    ("string", "uint64"): "TYPE_UINT64",
    ("number", "float"): "TYPE_FLOAT",
    ("number", "double"): "TYPE_DOUBLE",
}
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "uint32": (0, 2**32 - 1)}
_DURATION = re.compile(r"-?(\d+)(\.\d{1,9})?s")
_MAX_DURATION_SECONDS = 315_576_000_000  # google.protobuf.Duration's range
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})", re.IGNORECASE
)
_FLOAT_WORDS = frozenset({"NaN", "Infinity", "-Infinity"})

# Data keys FCM keeps for itself (FCM's error-codes page, "Invalid data key": `from`, `gcm`,
# anything prefixed by `google`; the Message reference: `message_type`; the legacy server
# reference: `notification`, `collapse_key`). Compared case-insensitively.
RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type", "collapse_key"})
RESERVED_DATA_PREFIXES = ("google.", "gcm.")


@dataclass(frozen=True)
class Violation:
    """One refusal: the proto path it is reported at (None: the request itself) and its text."""

    field: str | None
    description: str


@functools.cache
def discovery_document() -> dict[str, Any]:
    """Google's FCM v1 discovery document from the installed google-api-python-client."""
    text = importlib.resources.files(DISCOVERY_PACKAGE).joinpath(DISCOVERY_FILE).read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def proto_name(json_name: str) -> str:
    """`collapseKey` → `collapse_key`: the proto field name behind a discovery property."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", json_name).lower()


def parse_violations(request: Any, document: Mapping[str, Any] | None = None) -> list[Violation]:
    """Everything the proto-JSON parser refuses in a `messages:send` body, in document order."""
    checker = _Parser((document or discovery_document())["schemas"])
    if not isinstance(request, dict):
        return [Violation(None, "Invalid JSON payload received. Expected an object.")]
    checker.message(request, REQUEST_SCHEMA, "")
    return checker.violations


def fcm_violation(message: Mapping[str, Any]) -> tuple[str, str | None] | None:
    """FCM's own refusal of a parsed message, as (message, field), or None when it sends it."""
    present = [f for f in TARGET_FIELDS if message.get(f) not in (None, "")]
    if not present:
        return "Recipient of the message is not set.", None
    if len(present) > 1:
        return "Exactly one of token, fid, topic or condition must be set.", None
    for path, data in (
        ("message.data", message.get("data")),
        ("message.android.data", _get(message, "android", "data")),
    ):
        for key in data or {}:
            lowered = key.lower()
            if lowered in RESERVED_DATA_KEYS or lowered.startswith(RESERVED_DATA_PREFIXES):
                return f"Invalid data payload key: {key}", path
    link = _get(message, "webpush", "fcm_options", "link")
    if link is None:
        link = _get(message, "webpush", "fcmOptions", "link")
    if isinstance(link, str) and not link.lower().startswith("https://"):
        # FCM's reference (WebpushFcmOptions.link): "For all URL values, HTTPS is required."
        return "Invalid link: HTTPS is required.", "message.webpush.fcm_options.link"
    if payload_size(message) > MAX_PAYLOAD_BYTES:
        return "Message is too big", None
    return None


def payload_size(message: Mapping[str, Any]) -> int:
    """Bytes FCM's 4096-byte limit is checked against here: the compact UTF-8 JSON of the
    message without its target field."""
    payload = {k: v for k, v in message.items() if k not in TARGET_FIELDS}
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


class _Parser:
    """Walks a JSON value along the discovery schemas, collecting violations."""

    def __init__(self, schemas: Mapping[str, Any]) -> None:
        self._schemas = schemas
        self.violations: list[Violation] = []

    def _refuse(self, path: str, description: str) -> None:
        self.violations.append(Violation(path or None, description))

    def _invalid(self, path: str, type_name: str, value: Any) -> None:
        shown = json.dumps(value, ensure_ascii=False)
        self._refuse(path, f"Invalid value at '{path}' ({type_name}), {shown}")

    def message(self, value: Any, schema_name: str, path: str) -> None:
        if not isinstance(value, dict):
            self._invalid(path, PROTO_PACKAGE + schema_name, value)
            return
        properties: dict[str, Any] = self._schemas[schema_name].get("properties", {})
        names = {**{proto_name(n): n for n in properties}, **{n: n for n in properties}}
        for key, item in value.items():
            json_name = names.get(key)
            if json_name is None:
                where = f" at '{path}'" if path else ""
                self._refuse(
                    path,
                    f'Invalid JSON payload received. Unknown name "{key}"{where}: '
                    "Cannot find field.",
                )
                continue
            if item is None:
                continue  # proto-JSON: null is the field's default
            child = f"{path}.{proto_name(json_name)}" if path else proto_name(json_name)
            self.value(item, properties[json_name], child, (schema_name, json_name))

    def value(self, value: Any, spec: Mapping[str, Any], path: str, owner: tuple[str, str]) -> None:
        if "$ref" in spec:
            self.message(value, spec["$ref"], path)
        elif "enum" in spec:
            self._enum(value, spec["enum"], path, owner)
        elif spec.get("type") == "array":
            if not isinstance(value, list):
                self._invalid(path, _scalar_type(spec["items"]), value)
                return
            for index, item in enumerate(value):
                self.value(item, spec["items"], f"{path}[{index}]", owner)
        elif spec.get("type") == "object":
            self._map(value, spec.get("additionalProperties", {}), path, owner)
        elif spec.get("type") != "any":
            self._scalar(value, spec, path)

    def _map(
        self, value: Any, values: Mapping[str, Any], path: str, owner: tuple[str, str]
    ) -> None:
        if values.get("type") == "any":  # google.protobuf.Struct: any JSON object
            if not isinstance(value, dict):
                self._invalid(path, "type.googleapis.com/google.protobuf.Struct", value)
            return
        if not isinstance(value, dict):
            self._invalid(path, "map", value)
            return
        for index, item in enumerate(value.values()):
            self.value(item, values, f"{path}[{index}].value", owner)

    def _enum(self, value: Any, allowed: list[str], path: str, owner: tuple[str, str]) -> None:
        if isinstance(value, str) and value.upper() in allowed:
            return
        if _is_int(value) and 0 <= value < len(allowed):
            return
        enum_type = _ENUM_TYPES.get(owner, f"{owner[0]}.{owner[1][:1].upper()}{owner[1][1:]}")
        self._invalid(path, PROTO_PACKAGE + enum_type, value)

    def _scalar(self, value: Any, spec: Mapping[str, Any], path: str) -> None:
        kind, fmt = spec.get("type"), spec.get("format")
        if fmt == "google-duration":
            if not (isinstance(value, str) and _duration_ok(value)):
                self._invalid(path, "type.googleapis.com/google.protobuf.Duration", value)
        elif fmt == "google-datetime":
            if not (isinstance(value, str) and _TIMESTAMP.fullmatch(value)):
                self._invalid(path, "type.googleapis.com/google.protobuf.Timestamp", value)
        elif not _scalar_ok(value, kind, fmt):
            self._invalid(path, _scalar_type(spec), value)


def _scalar_type(spec: Mapping[str, Any]) -> str:
    kind, fmt = str(spec.get("type")), spec.get("format")
    return _SCALAR_TYPES.get((kind, fmt)) or _SCALAR_TYPES.get((kind, None), f"TYPE_{kind.upper()}")


def _scalar_ok(value: Any, kind: Any, fmt: Any) -> bool:
    if kind == "string":
        if fmt in ("int64", "uint64"):
            return _integral(value) is not None
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        number = _integral(value)
        low, high = _INT_RANGES.get(fmt, _INT_RANGES["int32"])
        return number is not None and low <= number <= high
    if kind == "number":
        if isinstance(value, str):
            if value in _FLOAT_WORDS:
                return True
            try:
                return math.isfinite(float(value))
            except ValueError:
                return False
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


def _integral(value: Any) -> int | None:
    """An integer as proto-JSON reads one: a JSON integer, a whole float, or a digit string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return None


def _duration_ok(value: str) -> bool:
    """ "3.5s", "600s", "-1s": google.protobuf.Duration's JSON form, within its range."""
    match = _DURATION.fullmatch(value)
    return match is not None and int(match.group(1)) <= _MAX_DURATION_SECONDS


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
