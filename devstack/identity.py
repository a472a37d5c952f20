"""Local stand-ins for the two Google identities ecmpush trusts: the Secure Token service that
signs Firebase ID tokens, and the Firebase service account the Admin SDK authenticates as.

Both are real RSA keys, so the real firebase-admin code paths run locally: ID tokens are checked
for signature, `kid`, audience, issuer and expiry against the certificates the FCM stand-in
serves, and the SDK's OAuth grant is a genuinely signed assertion the stand-in verifies. The
material lives in one file in a state directory, so the running stack and a separate
`python -m devstack token alice` process mint and accept the same tokens. It is created with an
atomic link, so two processes starting at once still agree on one identity."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt, jwt

SECURETOKEN_ISSUER_PREFIX = "https://securetoken.google.com/"
SECURETOKEN_CERTS_EMAIL = "securetoken@system.gserviceaccount.com"
DEFAULT_PROJECT_ID = "ecmpush-local"
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class LocalIdentity:
    """Key material for one local Firebase project (see the module docstring)."""

    project_id: str
    kid: str  # key id of the ID-token signing key, as in Google's x509 metadata
    id_token_key_pem: str
    id_token_cert_pem: str
    service_account_key_id: str
    service_account_key_pem: str
    service_account_cert_pem: str
    client_id: str

    @classmethod
    def load_or_create(cls, state_dir: Path, project_id: str = DEFAULT_PROJECT_ID) -> LocalIdentity:
        """Load the identity for `project_id` from `state_dir`, creating it on first use."""
        state_dir.mkdir(parents=True, exist_ok=True)
        path = state_dir / f"identity-{project_id}.json"
        if not path.exists():
            created = cls._generate(project_id)
            # Write a private temp file, then link it into place: the link fails if another
            # process won the race, and both then read the winner's file below.
            fd, tmp = tempfile.mkstemp(dir=state_dir, prefix=".identity-", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump({"version": _FORMAT_VERSION, **asdict(created)}, fh, indent=2)
                with contextlib.suppress(FileExistsError):
                    os.link(tmp, path)
            finally:
                os.unlink(tmp)
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.pop("version", None) != _FORMAT_VERSION:
            raise ValueError(f"{path}: unknown local identity format; delete it to regenerate")
        return cls(**data)

    @classmethod
    def _generate(cls, project_id: str) -> LocalIdentity:
        id_key, id_cert = _key_and_self_signed_cert(SECURETOKEN_CERTS_EMAIL)
        sa_key, sa_cert = _key_and_self_signed_cert(f"firebase-adminsdk-local@{project_id}")
        return cls(
            project_id=project_id,
            kid=_key_id(id_key),
            id_token_key_pem=_private_pem(id_key),
            id_token_cert_pem=id_cert,
            service_account_key_id=_key_id(sa_key),
            service_account_key_pem=_private_pem(sa_key),
            service_account_cert_pem=sa_cert,
            client_id=str(secrets.randbelow(10**20)).zfill(21),
        )

    @property
    def issuer(self) -> str:
        return SECURETOKEN_ISSUER_PREFIX + self.project_id

    @property
    def client_email(self) -> str:
        return f"firebase-adminsdk-local@{self.project_id}.iam.gserviceaccount.com"

    def service_account_info(self, token_uri: str) -> dict[str, Any]:
        """The service-account JSON Firebase hands out, with the OAuth endpoint at `token_uri`.

        The x509 URLs point at the same host as `token_uri` (the stand-in serves them), so nothing
        in this document refers to a real Google endpoint."""
        base = token_uri.rsplit("/", 1)[0]
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.service_account_key_id,
            "private_key": self.service_account_key_pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": f"{base}/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": f"{base}/oauth2/v1/certs",
            "client_x509_cert_url": f"{base}/robot/v1/metadata/x509/{quote(self.client_email)}",
            "universe_domain": "googleapis.com",
        }

    def certs(self) -> dict[str, str]:
        """kid → PEM certificate, the document Google serves for securetoken's signing keys."""
        return {self.kid: self.id_token_cert_pem}

    def service_account_certs(self) -> dict[str, str]:
        """private_key_id → PEM certificate of the service account's public key."""
        return {self.service_account_key_id: self.service_account_cert_pem}

    def mint_id_token(
        self,
        ecm_user: str | None,
        *,
        external_id: str | None = None,
        uid: str | None = None,
        expires_in: int = 3600,
        issued_at: int | None = None,
        tenant: str | None = None,
        extra_claims: dict[str, Any] | None = None,
    ) -> str:
        """A Firebase ID token as the Secure Token service would issue it after a custom-token
        sign-in whose developer claims carried `ecm_user` / `ecm_external`.

        `tenant`: an Identity Platform tenant's user (`firebase.tenant`, as Google issues it).
        `extra_claims` is applied last, so tests can override any claim (`aud`, `iss`, ...)."""
        now = int(time.time()) if issued_at is None else issued_at
        if uid is None:
            uid = f"local-{ecm_user}" if ecm_user else f"local-ext-{external_id or 'anonymous'}"
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.project_id,
            "auth_time": now,
            "user_id": uid,
            "sub": uid,
            "iat": now,
            "exp": now + expires_in,
            "firebase": {"sign_in_provider": "custom", "identities": {}},
        }
        if tenant is not None:
            claims["firebase"]["tenant"] = tenant
        if ecm_user is not None:
            claims["ecm_user"] = ecm_user
        if external_id is not None:
            claims["ecm_external"] = external_id
        claims.update(extra_claims or {})
        signer = _signer(self.id_token_key_pem, self.kid)
        token: bytes = jwt.encode(signer, claims)  # type: ignore[no-untyped-call]
        return token.decode("ascii")


@functools.lru_cache(maxsize=8)
def _signer(key_pem: str, kid: str) -> crypt.RSASigner:
    """The signer of a key: loading (and checking) an RSA key costs more than signing with it."""
    signer: crypt.RSASigner = crypt.RSASigner.from_string(key_pem, key_id=kid)  # type: ignore[no-untyped-call]
    return signer


def _key_and_self_signed_cert(common_name: str) -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _key_id(key: rsa.RSAPrivateKey) -> str:
    """40 hex digits derived from the public key, the shape of Google's key ids."""
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha1(der, usedforsecurity=False).hexdigest()
