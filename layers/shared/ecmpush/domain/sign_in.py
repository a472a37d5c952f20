"""The rules of the OTDS sign-in bridge, without I/O: PKCE S256 (RFC 7636), the signed state that
carries the code challenge from start to finish so that the bridge stores nothing, and how an
OTDS user record names its Content Server login. Why: docs/design/otds-sign-in.md."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

STATE_SECONDS = 600  # how long a started sign-in may take at the OTDS login page
# RFC 7636 §4.1: 43-128 characters of the unreserved set; §4.2: S256 is BASE64URL(SHA256).
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
_STATE_LABEL = b"ecmpush-otds-sign-in-state."
_MAX_STATE = 512
_STATE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# A login: no control characters, / \\ or #; plain spaces only inside ("a@Some Partition").
_LOGIN = re.compile(r"[^\s@/\\#]([^\t\n\r\f\v/\\#]{0,126}[^\s/\\#])?")


class SignInRefused(Exception):
    """The sign-in cannot go on: `status` is the HTTP answer (400 bad state or code, 403 a user
    ecmpush may not sign in, 502 OTDS or Content Server answered what they never should)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def is_code_challenge(value: str) -> bool:
    """An S256 challenge: 32 bytes of SHA-256, base64url without padding."""
    return _CHALLENGE.fullmatch(value) is not None


def code_challenge(verifier: str) -> str:
    """RFC 7636 §4.2, S256: BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))."""
    if not _VERIFIER.fullmatch(verifier):
        raise SignInRefused(400, "code_verifier must be 43-128 characters of A-Z a-z 0-9 - . _ ~")
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


def _signature(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, _STATE_LABEL + payload.encode("ascii"), hashlib.sha256).digest())


def state_key(client_secret: str) -> bytes:
    """The state's HMAC key, derived from the OTDS client secret: one secret fewer to keep and
    rotate, known only to the bridge (and OTDS, which signs the user in anyway); rotating the
    client secret ends the sign-ins started before it."""
    return hmac.new(client_secret.encode(), b"ecmpush sign-in state key", hashlib.sha256).digest()


def issue_state(key: bytes, challenge: str, now: int, nonce: str) -> str:
    """`<payload>.<signature>`: the challenge the browser committed to, an expiry and a nonce,
    signed with the bridge's key; OTDS carries it to the app and the app back to the bridge."""
    if not is_code_challenge(challenge):
        raise SignInRefused(400, "code_challenge must be an S256 challenge (43 base64url chars)")
    body = {"c": challenge, "exp": now + STATE_SECONDS, "n": nonce}
    payload = _b64(json.dumps(body, separators=(",", ":")).encode("ascii"))
    return f"{payload}.{_signature(key, payload)}"


def check_state(keys: Sequence[bytes], state: str, verifier: str, now: int) -> None:
    """The state is one this bridge issued (any active key), not expired, and the verifier is
    the one whose challenge it carries: a code obtained for another browser cannot be used."""
    if len(state) > _MAX_STATE or not _STATE.fullmatch(state):
        raise SignInRefused(400, "state is not one this sign-in issued")
    payload, _, signature = state.partition(".")
    if not any(hmac.compare_digest(_signature(key, payload), signature) for key in keys):
        raise SignInRefused(400, "state is not one this sign-in issued")
    try:
        body = json.loads(_unb64(payload))
        challenge, expires = str(body["c"]), int(body["exp"])
    except (ValueError, KeyError, TypeError):
        raise SignInRefused(400, "state is not one this sign-in issued") from None
    if now >= expires:
        raise SignInRefused(400, "the sign-in took too long; start again")
    if not hmac.compare_digest(code_challenge(verifier), challenge):
        raise SignInRefused(400, "code_verifier does not match the state's code_challenge")


@dataclass(frozen=True)
class LoginMapping:
    """How an OTDS user names its Content Server login (template parameters OtdsLoginAttribute,
    OtdsPartitionSuffix, OtdsPartitions): `attribute` is `id`, `name` or an OTDS user attribute
    such as `oTExternalID1`; `strip_partition` drops a trailing `@<user's partition>`;
    `partitions` (empty: any) are the partitions whose users may sign in."""

    attribute: str = "name"
    strip_partition: bool = True
    partitions: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, attribute: str, partition_suffix: str, partitions: str) -> LoginMapping:
        if partition_suffix not in ("strip", "keep"):
            raise ValueError("partition suffix rule must be 'strip' or 'keep'")
        if not attribute.strip():
            raise ValueError("the login attribute must not be empty")
        allowed = frozenset(p.strip() for p in partitions.split(",") if p.strip())
        return cls(attribute.strip(), partition_suffix == "strip", allowed)

    def login(self, user: Mapping[str, Any]) -> str:
        """The Content Server login `user` (OTDS's user record) names, or SignInRefused(403)."""
        partition = user.get("userPartitionID")
        if not isinstance(partition, str):
            raise SignInRefused(502, "OTDS answered a user without userPartitionID")
        if self.partitions and partition not in self.partitions:
            raise SignInRefused(403, "this OTDS user's partition may not sign in to ecmpush")
        if _attribute_values(user, "accountDisabled") == ["true"]:
            raise SignInRefused(403, "this OTDS user is disabled")
        values = _attribute_values(user, self.attribute)
        if len(values) != 1 or not values[0].strip():
            raise SignInRefused(
                403, f"this OTDS user has no {self.attribute} to name a Content Server login"
            )
        login = values[0].strip()
        suffix = f"@{partition}"
        if self.strip_partition and login.endswith(suffix):
            login = login[: -len(suffix)]
        if not _LOGIN.fullmatch(login):
            raise SignInRefused(403, "this OTDS user maps to no usable Content Server login")
        return login


def _attribute_values(user: Mapping[str, Any], attribute: str) -> list[str]:
    """`id`/`name` from the record, else the attribute from `values` ([{name, values}], OTDS's
    default) or `attributes` ({name: [values]}, with attrAsKeys)."""
    if attribute in ("id", "name"):
        value = user.get(attribute)
        return [value] if isinstance(value, str) else []
    found: Any = None
    listed = user.get("values")
    if isinstance(listed, list):
        for entry in listed:
            if isinstance(entry, Mapping) and entry.get("name") == attribute:
                found = entry.get("values")
    keyed = user.get("attributes")
    if found is None and isinstance(keyed, Mapping):
        found = keyed.get(attribute)
    if not isinstance(found, list):
        return []
    return [value for value in found if isinstance(value, str)]


class StartRequest(BaseModel):
    """`POST /sign-in/otds/start`: the S256 challenge of a verifier the app keeps."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code_challenge: Annotated[str, StringConstraints(pattern=_CHALLENGE.pattern)]


class FinishRequest(BaseModel):
    """`POST /sign-in/otds/token`: what OTDS sent back to the app, and the app's verifier."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    code: Annotated[str, StringConstraints(min_length=1, max_length=2048)]
    state: Annotated[str, StringConstraints(min_length=1, max_length=_MAX_STATE)]
    code_verifier: Annotated[str, StringConstraints(pattern=_VERIFIER.pattern)]
