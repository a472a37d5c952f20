"""Local identity material: persisted, shared between processes, and in Google's formats."""

from __future__ import annotations

import concurrent.futures
import stat
import time
from pathlib import Path

from google.auth import jwt

from devstack.identity import LocalIdentity


def test_persisted_identity_is_reused(tmp_path: Path) -> None:
    first = LocalIdentity.load_or_create(tmp_path)
    assert LocalIdentity.load_or_create(tmp_path) == first
    assert LocalIdentity.load_or_create(tmp_path, "other-project") != first
    [path] = tmp_path.glob("identity-ecmpush-local.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_concurrent_creators_agree(tmp_path: Path) -> None:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        identities = list(pool.map(lambda _: LocalIdentity.load_or_create(tmp_path), range(4)))
    assert all(i == identities[0] for i in identities)
    assert [p.name for p in tmp_path.iterdir()] == ["identity-ecmpush-local.json"]


def test_id_token_has_firebase_shape(tmp_path: Path) -> None:
    identity = LocalIdentity.load_or_create(tmp_path)
    token = identity.mint_id_token("alice", external_id="X-1", issued_at=int(time.time()) - 10)
    header = jwt.decode_header(token)
    assert (header["alg"], header["kid"]) == ("RS256", identity.kid)
    claims = jwt.decode(token, certs=identity.certs(), audience="ecmpush-local")
    assert claims["iss"] == "https://securetoken.google.com/ecmpush-local"
    assert claims["sub"] == claims["user_id"] == "local-alice"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["auth_time"] == claims["iat"]
    assert claims["firebase"] == {"sign_in_provider": "custom", "identities": {}}
    assert (claims["ecm_user"], claims["ecm_external"]) == ("alice", "X-1")


def test_service_account_info_is_complete(tmp_path: Path) -> None:
    identity = LocalIdentity.load_or_create(tmp_path)
    info = identity.service_account_info("http://127.0.0.1:9099/token")
    assert info["type"] == "service_account"
    assert info["token_uri"] == "http://127.0.0.1:9099/token"
    assert info["private_key_id"] in identity.service_account_certs()
    assert info["private_key"].startswith("-----BEGIN PRIVATE KEY-----")
    assert info["client_email"].endswith("@ecmpush-local.iam.gserviceaccount.com")
    assert {"client_id", "auth_uri", "client_x509_cert_url", "project_id"} <= set(info)
    assert info["client_x509_cert_url"].startswith("http://127.0.0.1:9099/robot/")
