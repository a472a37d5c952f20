"""The firebase-admin `App`s of the Firebase adapters (one per configuration, created once per
warm Lambda), and the only writes to the SDK's private attributes, checked against the pinned SDK.
Why: docs/design/firebase-admin-private-settings.md."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import threading
import urllib.request
from collections.abc import Callable
from typing import Any

import firebase_admin
import google.auth._helpers
import google.auth.credentials
import google.auth.exceptions
import google.auth.transport.requests
import requests.adapters
import urllib3.util
from firebase_admin import _user_mgt, auth, credentials, messaging, tenant_mgt

PINNED_SDK_VERSION = "7.7.0"
SEND_ATTEMPTS = 2  # per message: the first and one retry on 500/503 (or a lost connection)
_RETRY_BACKOFF_S = 0.5  # the SDK's backoff factor: the one retry waits at most this


def send_budget(http_timeout: float) -> float:
    """The longest one `send_each` of a chunk can take: every attempt timing out, plus the
    backoff between them (the chunk's messages go in parallel). Nothing else happens inside a
    send: no token fetch (`_refresh_status_codes`, design page) and no Retry-After slept
    out (`FcmRetry`)."""
    return SEND_ATTEMPTS * http_timeout + _RETRY_BACKOFF_S * (SEND_ATTEMPTS - 1)


class FcmRetry(urllib3.util.Retry):
    """The SDK's retry policy for FCM (500/503 and lost connections, backoff 0.5 s), limited to
    one retry, which never retries an answer that says when to come back: a 503 (or 429) with
    Retry-After is handed back as it is, and Dispatch keeps the SQS message away for that long
    (SQS visibility), instead of asking again half a second later. Sleeping it out here
    instead could hold the Lambda for the minute FCM may ask for."""

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if has_retry_after:
            return False
        return super().is_retry(method, status_code, has_retry_after)


def fcm_retry() -> FcmRetry:
    """firebase-admin's DEFAULT_RETRY_CONFIG (status 500/503, connect and read once, any
    method, the last answer returned, backoff 0.5) within `SEND_ATTEMPTS`."""
    return FcmRetry(
        total=SEND_ATTEMPTS - 1,
        connect=1,
        read=1,
        status=SEND_ATTEMPTS - 1,
        status_forcelist=[500, 503],
        allowed_methods=None,
        raise_on_status=False,
        backoff_factor=_RETRY_BACKOFF_S,
        respect_retry_after_header=False,
    )


class TokenUnavailable(RuntimeError):
    """Google's token endpoint gave no access token for the service account."""


def ensure_access_token(app: firebase_admin.App, valid_for_seconds: float) -> None:
    """Fetch the App's OAuth access token now unless the one it holds stays usable for
    `valid_for_seconds` more. Why: firebase-admin fetches a missing or stale token inside the
    first send, and google-auth retries the token endpoint three times on 5xx, each attempt up
    to the HTTP timeout: a send that waits on that could outlast the time Dispatch kept for it
    and be killed with its claims taken. Fetched here, before anything is claimed, a slow
    token endpoint costs time but never a claim. google-auth refreshes a token 3 min 45 s
    before it expires (REFRESH_THRESHOLD); the same margin is kept here."""
    credential = app.credential.get_credential()
    horizon = dt.timedelta(seconds=valid_for_seconds) + google.auth._helpers.REFRESH_THRESHOLD
    with _token_lock:
        expiry = credential.expiry  # naive UTC, as google-auth keeps it
        if credential.token and expiry is not None and expiry - _utcnow() > horizon:
            return
        timeout = app.options.get("httpTimeout", 10)
        request = google.auth.transport.requests.Request()
        try:
            credential.refresh(functools.partial(request, timeout=timeout))
        except google.auth.exceptions.GoogleAuthError as exc:
            raise TokenUnavailable(f"no FCM access token: {exc}") from exc


def drop_access_token(app: firebase_admin.App) -> None:
    """Forget the App's access token, so the next `ensure_access_token` fetches a new one. Why:
    FCM refused it (401 UNAUTHENTICATED without an FCM errorCode: revoked, or the clock was
    off), and the send itself no longer refreshes on a 401 (the design page)."""
    credential = app.credential.get_credential()
    with _token_lock:
        credential.token = None
        credential.expiry = None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


FCM_PRODUCTION_BASE = "https://fcm.googleapis.com"
_EXPECTED_FCM_URL = FCM_PRODUCTION_BASE + "/v1/projects/{0}/messages:send"
_DEFAULT_ID_CERTS_URL = (
    "https://www.googleapis.com/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com"
)

_lock = threading.Lock()
_token_lock = threading.Lock()  # one token fetch at a time; the others then find it fresh


class FirebaseSdkChanged(RuntimeError):
    """A private attribute we configure is not where the pinned firebase-admin keeps it."""


class _NoGoogleCredentials(google.auth.credentials.Credentials):
    """What a verify-only App holds: checking an ID token needs Google's public certificates and
    the project id, no credential. Anything that would call a Google API with it fails here,
    by name, instead of finding Application Default Credentials nobody meant to use."""

    def refresh(self, request: Any) -> None:
        raise RuntimeError(
            "this firebase-admin App verifies ID tokens only and holds no Google credential"
        )


class VerifyOnlyCredential(credentials.Base):  # type: ignore[misc]
    def get_credential(self) -> google.auth.credentials.Credentials:
        return _NoGoogleCredentials()  # type: ignore[no-untyped-call]


def get_verifier_app(
    project_id: str,
    *,
    credential: credentials.Base | None = None,
    certs_url: str | None = None,
    identity_toolkit_url: str | None = None,
    http_timeout: float = 10,
    tenant_id: str | None = None,
) -> firebase_admin.App:
    """An App that verifies the ID tokens of `project_id`, created on first call. Without
    `credential` it can do nothing else; with one (the revocation check's read-only
    credential) it can also look users up, in `tenant_id` if given. `certs_url` and
    `identity_toolkit_url` are for the local stack only."""
    if not project_id:
        raise ValueError("the Firebase project id is required to verify ID tokens")
    identity = ["verify", project_id, certs_url, identity_toolkit_url, http_timeout, tenant_id]
    identity.append(_credential_id(credential))
    digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]

    def configure(app: firebase_admin.App) -> None:
        if certs_url is not None:
            _configure_id_token_certs(app, certs_url)
        if identity_toolkit_url is not None:
            _configure_identity_toolkit(app, project_id, identity_toolkit_url, tenant_id)

    return _get_or_create(
        f"ecmpush-verify-{project_id}-{digest}",
        credential or VerifyOnlyCredential(),
        {"projectId": project_id, "httpTimeout": http_timeout},
        configure,
    )


def _get_or_create(
    name: str,
    credential: credentials.Base,
    options: dict[str, Any],
    configure: Callable[[firebase_admin.App], None],
) -> firebase_admin.App:
    """The App called `name`, or a new one configured by `configure` (deleted again if that
    fails, so a retry starts clean)."""
    with _lock:
        try:
            return firebase_admin.get_app(name)
        except ValueError:
            pass  # not initialized in this process yet
        app = firebase_admin.initialize_app(credential, options, name=name)
        try:
            configure(app)
        except BaseException:
            firebase_admin.delete_app(app)
            raise
        return app


def _credential_id(credential: credentials.Base | None) -> str | None:
    """Names a credential without its secret."""
    if credential is None:
        return None
    return str(getattr(credential, "service_account_email", type(credential).__name__))


def get_firebase_app(
    service_account: dict[str, Any],
    *,
    fcm_base_url: str | None = None,
    certs_url: str | None = None,
    pool_size: int = 50,
    http_timeout: float = 10,
) -> firebase_admin.App:
    """The App for `service_account` (the Secrets Manager JSON), created on first call.

    `fcm_base_url` and `certs_url` are for the local stack only; production passes None and
    talks to Google. `pool_size` should be at least the sender's chunk size: `send_each` runs
    one thread per message, and connections beyond the pool are opened and thrown away.
    """
    project_id = service_account.get("project_id")
    if not isinstance(project_id, str) or not project_id:
        raise ValueError("service account JSON has no project_id")
    if pool_size < 1:
        raise ValueError("pool_size must be positive")
    name = _app_name(service_account, fcm_base_url, certs_url, pool_size, http_timeout)

    def configure(app: firebase_admin.App) -> None:
        _configure_messaging(app, project_id, fcm_base_url, pool_size)
        if certs_url is not None:
            _configure_id_token_certs(app, certs_url)

    return _get_or_create(
        name,
        credentials.Certificate(service_account),
        {"projectId": project_id, "httpTimeout": http_timeout},
        configure,
    )


def _app_name(
    service_account: dict[str, Any],
    fcm_base_url: str | None,
    certs_url: str | None,
    pool_size: int,
    http_timeout: float,
) -> str:
    """Stable per configuration; the key id (not the key) identifies the credential."""
    identity = [
        service_account.get("project_id"),
        service_account.get("client_email"),
        service_account.get("private_key_id"),
        service_account.get("token_uri"),
        fcm_base_url,
        certs_url,
        pool_size,
        http_timeout,
    ]
    digest = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
    return f"ecmpush-{service_account['project_id']}-{digest}"


def encode_message(message: messaging.Message) -> dict[str, Any]:
    """The JSON object FCM receives as `message`, by the SDK's own (private) encoder: it raises
    ValueError/TypeError for what `send_each` would refuse. The only use of the encoder."""
    encode = getattr(messaging._MessagingService, "encode_message", None)
    if not callable(encode):
        raise FirebaseSdkChanged(
            f"firebase-admin {firebase_admin.__version__}: messaging._MessagingService has no "
            f"encode_message as in {PINNED_SDK_VERSION}; review firebase_app.py"
        )
    encoded: dict[str, Any] = encode(message)
    return encoded


def _configure_messaging(
    app: firebase_admin.App, project_id: str, fcm_base_url: str | None, pool_size: int
) -> None:
    if messaging._MessagingService.FCM_URL != _EXPECTED_FCM_URL:
        raise FirebaseSdkChanged(
            f"firebase-admin {firebase_admin.__version__}: messaging._MessagingService.FCM_URL is "
            f"{messaging._MessagingService.FCM_URL!r}, expected {_EXPECTED_FCM_URL!r} "
            f"(pinned {PINNED_SDK_VERSION}); review firebase_app.py before upgrading"
        )
    service = messaging._get_messaging_service(app)
    session = getattr(getattr(service, "_client", None), "session", None)
    if getattr(service, "_fcm_url", None) != _EXPECTED_FCM_URL.format(project_id) or not hasattr(
        session, "mount"
    ):
        raise FirebaseSdkChanged(
            f"firebase-admin {firebase_admin.__version__}: the messaging service no longer has "
            f"_fcm_url / _client.session as in {PINNED_SDK_VERSION}; review firebase_app.py"
        )
    base = FCM_PRODUCTION_BASE if fcm_base_url is None else fcm_base_url.rstrip("/")
    if fcm_base_url is not None:
        service._fcm_url = f"{base}/v1/projects/{project_id}/messages:send"
    # One retry, not the SDK's four: a send must fit Dispatch's deadline reserve
    # (`send_budget`), and an outage past one retry is the SQS message's to retry, later.
    # Retry-After is Dispatch's to honour (`FcmRetry`).
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=1,  # one host per mount
        pool_maxsize=pool_size,
        max_retries=fcm_retry(),
    )
    _no_refresh_on_401(session)
    session.mount(base, adapter)  # type: ignore[union-attr]
    _read_environment_once(session)


def _no_refresh_on_401(session: Any) -> None:
    """Empty google-auth's AuthorizedSession `_refresh_status_codes` (the design page),
    after checking it is where and what the pinned SDK keeps."""
    codes = getattr(session, "_refresh_status_codes", None)
    if not isinstance(codes, tuple) or 401 not in codes:
        raise FirebaseSdkChanged(
            f"firebase-admin {firebase_admin.__version__}: the FCM session has no "
            f"_refresh_status_codes with 401 as google-auth's AuthorizedSession under "
            f"{PINNED_SDK_VERSION}; review firebase_app.py"
        )
    session._refresh_status_codes = ()


def _read_environment_once(session: Any) -> None:
    """requests looks up proxy settings in the environment for every request it sends: urllib's
    `getproxies` walks all of os.environ twice, per push, and was a large share of Dispatch's
    CPU in the fan-out benchmark. A Lambda's environment does not change while it runs, so
    without any proxy or netrc configured the per-request lookup is switched off for the FCM
    session, and the CA bundle requests would have taken from the environment is set once.
    With a proxy or netrc configured, requests keeps reading them per request, as before."""
    if urllib.request.getproxies() or os.environ.get("NETRC"):
        return
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False


def _configure_identity_toolkit(
    app: firebase_admin.App, project_id: str, base_url: str, tenant_id: str | None = None
) -> None:
    """`auth._get_client(app)._user_manager.base_url` (local stack only): user lookups go to the
    Identity Toolkit stand-in; with `tenant_id`, the tenant client's too (`tenant_mgt` keeps one
    per App and tenant). The emulator variable is no substitute (the design page)."""
    clients = [("", auth._get_client(app))]
    if tenant_id:
        clients.append((f"/tenants/{tenant_id}", tenant_mgt.auth_for_tenant(tenant_id, app=app)))
    for scope, client in clients:
        manager = getattr(client, "_user_manager", None)
        default = f"{_user_mgt.UserManager.ID_TOOLKIT_URL}/projects/{project_id}{scope}"
        if getattr(manager, "base_url", None) != default:
            raise FirebaseSdkChanged(
                f"firebase-admin {firebase_admin.__version__}: auth client's "
                f"_user_manager.base_url is not {default!r} as in {PINNED_SDK_VERSION}; "
                "review firebase_app.py"
            )
        manager.base_url = f"{base_url.rstrip('/')}/projects/{project_id}{scope}"  # type: ignore[union-attr]


def _configure_id_token_certs(app: firebase_admin.App, certs_url: str) -> None:
    client = auth._get_client(app)
    verifier = getattr(getattr(client, "_token_verifier", None), "id_token_verifier", None)
    current = getattr(verifier, "cert_url", None)
    if current != _DEFAULT_ID_CERTS_URL:
        raise FirebaseSdkChanged(
            f"firebase-admin {firebase_admin.__version__}: auth client's "
            "_token_verifier.id_token_verifier.cert_url is not the default securetoken URL as in "
            f"{PINNED_SDK_VERSION}; review firebase_app.py"
        )
    verifier.cert_url = certs_url  # type: ignore[union-attr]
