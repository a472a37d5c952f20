"""Wiring of the OTDS sign-in bridge: OTDS behind its adapter, Content Server's confirmation with
the user's own token, the Firebase service account that signs custom tokens, and the state key;
secrets are read when a request needs them (cached by the secret store, so a rotated OTDS client
secret takes effect without a restart), so a handler's init loads no AWS SDK."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ecmpush.bootstrap.cache import cached
from ecmpush.bootstrap.parts import build_secret_store
from ecmpush.settings import ConfigurationError, Settings, running_in_local_stack, settings

if TYPE_CHECKING:
    import requests

    from ecmpush.ports import CustomTokenMinter, OtdsAuthorization
    from ecmpush.services.sign_in import SignInService


def _https(name: str, url: str) -> str:
    """OTDS and the redirect URI are https in every deployment; the local stand-ins are http."""
    parts = urlsplit(url)
    schemes = ("https", "http") if running_in_local_stack() else ("https",)
    if not parts.netloc or parts.scheme not in schemes:
        raise ConfigurationError(f"environment variable {name} must be an https URL")
    if parts.query or parts.fragment:
        raise ConfigurationError(f"environment variable {name} must have no query or fragment")
    return url


@cached
def build_sign_in(config: Settings | None = None) -> SignInService:
    from ecmpush.adapters.ecm.bearer_login import BearerLoginCheck
    from ecmpush.domain.sign_in import LoginMapping, state_key
    from ecmpush.services.sign_in import SignInService

    config = config or settings()
    required = {
        "ECMPUSH_OTDS_BASE_URL": config.otds_base_url,
        "ECMPUSH_OTDS_CLIENT_ID": config.otds_client_id,
        "ECMPUSH_OTDS_SECRET_ID": config.otds_secret_id,
        "ECMPUSH_SIGN_IN_REDIRECT_URI": config.sign_in_redirect_uri,
        "ECMPUSH_SIGN_IN_FIREBASE_SECRET_ID": config.sign_in_firebase_secret_id,
    }
    for name, value in required.items():
        if not value:
            raise ConfigurationError(f"environment variable {name} is required")
    otds_url = _https("ECMPUSH_OTDS_BASE_URL", config.otds_base_url)
    redirect_uri = _https("ECMPUSH_SIGN_IN_REDIRECT_URI", config.sign_in_redirect_uri)
    try:
        mapping = LoginMapping.parse(
            config.otds_login_attribute, config.otds_partition_suffix, config.otds_partitions
        )
    except ValueError as exc:
        raise ConfigurationError(f"OTDS login mapping: {exc}") from None
    store = build_secret_store

    def client_secret() -> str:
        value = store().json(config.otds_secret_id).get("client_secret")
        if not isinstance(value, str) or not value:
            raise ConfigurationError(
                'the OTDS client secret must be JSON {"client_secret": ...} (docs/sign-in.md)'
            )
        return value

    def state_keys() -> list[bytes]:
        return [state_key(client_secret())]

    @cache
    def session() -> requests.Session:
        import requests

        return requests.Session()

    def otds() -> OtdsAuthorization:
        """Per request: the client secret as the secret store has it now (rotation)."""
        from ecmpush.adapters.otds_client import OtdsClient

        return OtdsClient(
            otds_url,
            config.otds_client_id,
            client_secret(),
            redirect_uri,
            config.otds_scope,
            session=session(),
        )

    @cache
    def minter() -> CustomTokenMinter:
        from ecmpush.adapters.custom_tokens import FirebaseCustomTokens
        from ecmpush.adapters.firebase_app import get_firebase_app

        app = get_firebase_app(store().json(config.sign_in_firebase_secret_id))
        return FirebaseCustomTokens(app, config.firebase_tenant_id)

    return SignInService(
        otds=otds,
        content_server=BearerLoginCheck(config.ecm_base_url),
        minter=minter,
        state_keys=state_keys,
        mapping=mapping,
        ecm_user_claim=config.ecm_user_claim,
    )
