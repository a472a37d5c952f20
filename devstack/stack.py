"""Brings the whole bundle up on 127.0.0.1: moto server with the template's resources, the FCM
and Content Server stand-ins, every API route and the SQS consumer, wired with the same
environment the template gives the functions plus the local-only endpoint overrides."""

from __future__ import annotations

import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.server import ThreadedMotoServer
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from devstack import template as cfn
from devstack.api_router import ApiRouter
from devstack.auth_standin import LOCAL_API_KEY, AuthStandIn
from devstack.control import ControlApp
from devstack.ecm_standin import EcmStandIn, create_ecm_standin, load_default_seed
from devstack.fcm_standin import FcmStandIn, certs_url_for, create_fcm_standin, token_uri_for
from devstack.http_server import BackgroundServer
from devstack.identity import LocalIdentity
from devstack.lambda_runtime import LocalFunction
from devstack.moto_atomic import make_dynamodb_atomic
from devstack.resources import REGION, Provisioned, provision
from devstack.schedules import LAST_RUNS, LocalScheduler
from devstack.sign_in_bridge import SignInBridge
from devstack.sqs_poller import SqsPoller
from devstack.status import collect
from devstack.web_static import ApiDocsApp, WebClientApp, local_client_config
from devstack.webpush_channel import WebPushChannel
from ecmpush.settings import LOCAL_STACK_MARKER

DEFAULT_STATE_DIR = cfn.REPO_ROOT / ".devstack"
ROUTING_FILE = Path(__file__).resolve().parent / "routing.json"  # roles and teams of the seed
# LinkHosts of the local stack and the tests: the hosts the sample events' links name
# (events/ecm/*.json), a real ECM's and a customer portal's, not the stand-in's.
SAMPLE_LINK_HOSTS = "ecm.example.com,portal.example.com"
log = logging.getLogger("devstack")


def _port(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass
class StackConfig:
    host: str = "127.0.0.1"
    api_port: int = 3000
    moto_port: int = 5000
    fcm_port: int = 9099
    ecm_port: int = 8181
    state_dir: Path = DEFAULT_STATE_DIR
    log_level: str = "WARNING"
    app_base_url: str = "https://app.ecmpush.local"
    # EnableRelay: RelayPollFunction polls the ECM stand-in on its schedule (docs/relay.md).
    relay: bool = False

    @classmethod
    def from_env(cls, state_dir: Path | None = None) -> StackConfig:
        return cls(
            api_port=_port("ECMPUSH_API_PORT", 3000),
            moto_port=_port("ECMPUSH_MOTO_PORT", 5000),
            fcm_port=_port("ECMPUSH_FCM_PORT", 9099),
            ecm_port=_port("ECMPUSH_ECM_PORT", 8181),
            state_dir=state_dir or DEFAULT_STATE_DIR,
            log_level=os.environ.get("ECMPUSH_LOG_LEVEL", "WARNING"),
            relay=os.environ.get("ECMPUSH_RELAY", "").lower() in ("1", "true"),
        )

    @classmethod
    def ephemeral(cls, state_dir: Path) -> StackConfig:
        """Free ports everywhere: for tests that start their own stack."""
        return cls(api_port=0, moto_port=0, fcm_port=0, ecm_port=0, state_dir=state_dir)


def _persistent_secret(path: Path) -> str:
    """Survives restarts so an ECM-side script configured once keeps working locally."""
    if path.exists():
        return path.read_text().strip()
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value


# The OTDS OAuth client of the sign-in bridge (devstack/ecm_seed.json); its redirect URL is the
# local web client's, registered when the API's port is known.
LOCAL_SIGN_IN_CLIENT = {
    "client_id": "ecmpush-sign-in",
    "client_secret": "ecmpush-sign-in-local-secret",
    "user": "svc-ecmpush",
}


class _LateApp:
    """The API's WSGI app, set once the routes are built: the server starts first, so its URL
    (the sign-in redirect URI) can be a template parameter."""

    app: Any = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)


def local_ecm_credentials(ecm_url: str) -> dict[str, Any]:
    """The ECM stand-in's seeded OAuth client (devstack/ecm_seed.json), acting as each user."""
    return {
        "auth_mode": "otds",
        "otds_url": ecm_url,
        "client_id": "ecmpush",
        "client_secret": "ecmpush-local-secret",
        "act_as_user": True,
    }


def function_environment(
    template: dict[str, Any], provisioned: Provisioned, fcm_url: str, log_level: str = "WARNING"
) -> dict[str, str]:
    """The template's function variables, resolved against local resources, plus the local-only
    endpoint overrides that never appear in template.yaml and the marker that lets the handlers
    accept them (ecmpush/settings.py refuses them anywhere else)."""
    environment: dict[str, str] = {}
    for spec in cfn.functions(template).values():
        for key, value in spec.environment.items():
            environment[key] = str(provisioned.resolve(value))
    environment.update(
        {
            LOCAL_STACK_MARKER: "1",
            "ECMPUSH_FCM_BASE_URL": fcm_url,
            "ECMPUSH_FIREBASE_CERTS_URL": certs_url_for(fcm_url),
            "ECMPUSH_ROUTING_FILE": str(ROUTING_FILE),
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": log_level,
        }
    )
    return environment


@dataclass
class Stack:
    config: StackConfig
    identity: LocalIdentity = field(init=False)
    fcm: FcmStandIn = field(init=False)
    webpush: WebPushChannel = field(init=False)
    ecm: EcmStandIn = field(init=False)
    functions: dict[str, LocalFunction] = field(default_factory=dict)
    pollers: list[SqsPoller] = field(default_factory=list)
    provisioned: Provisioned = field(init=False)
    webhook_secret: str = ""
    webhook_api_key: str = ""  # what API Gateway's usage plan would hand the ECM sender
    _servers: list[BackgroundServer] = field(default_factory=list)
    _moto: ThreadedMotoServer | None = None
    scheduler: LocalScheduler | None = None
    urls: dict[str, str] = field(default_factory=dict)

    def start(self, consume: bool = True) -> Stack:
        config = self.config
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        config.state_dir.mkdir(parents=True, exist_ok=True)
        self._start_moto()
        self.identity = LocalIdentity.load_or_create(config.state_dir)
        self.fcm = create_fcm_standin(self.identity)
        self.webpush = WebPushChannel()
        self.fcm.delivery_listeners.append(self.webpush.deliver)
        auth = AuthStandIn(self.identity, access_token_valid=self.fcm.access_token_valid)
        google = DispatcherMiddleware(
            self.fcm,
            {
                "/identitytoolkit.googleapis.com": auth,
                "/securetoken.googleapis.com": auth,
                "/_webpush": self.webpush,
            },
        )
        fcm_server = self._serve("fcm", google, config.fcm_port)
        api_app = _LateApp()
        api_server = self._serve("api", api_app, config.api_port)
        redirect_uri = f"{api_server.url}/app/"
        seed = load_default_seed()  # the sign-in client's redirect URL is this API's web client
        seed["oauth_clients"] = [
            c for c in seed["oauth_clients"] if c["client_id"] != LOCAL_SIGN_IN_CLIENT["client_id"]
        ] + [{**LOCAL_SIGN_IN_CLIENT, "redirect_urls": [redirect_uri]}]
        self.ecm = create_ecm_standin(seed)
        ecm_server = self._serve("ecm", self.ecm, config.ecm_port)

        template = cfn.load()
        self.webhook_secret = _persistent_secret(config.state_dir / "webhook_secret")
        self.webhook_api_key = _persistent_secret(config.state_dir / "webhook_api_key")
        service_account = self.identity.service_account_info(token_uri_for(fcm_server.url))
        self.provisioned = provision(
            template,
            secret_values={
                "WebhookSecret": self.webhook_secret,
                "FirebaseServiceAccountSecret": json.dumps(service_account),
                "ActionTokenKeySecret": _persistent_secret(config.state_dir / "action_token_key"),
                "EcmCredentialsSecret": json.dumps(local_ecm_credentials(ecm_server.url)),
                "OtdsClientSecret": json.dumps(
                    {"client_secret": LOCAL_SIGN_IN_CLIENT["client_secret"]}
                ),
                "SignInServiceAccountSecret": json.dumps(service_account),
            },
            parameters={
                "AppBaseUrl": config.app_base_url,
                "EcmBaseUrl": ecm_server.url,
                "LinkHosts": SAMPLE_LINK_HOSTS,
                "LogLevel": config.log_level,
                "FirebaseProjectId": self.identity.project_id,
                "EnableRelay": "true" if config.relay else "false",
                # The OTDS sign-in bridge: the Content Server stand-in also plays OTDS.
                "OtdsBaseUrl": ecm_server.url,
                "OtdsClientId": LOCAL_SIGN_IN_CLIENT["client_id"],
                "SignInRedirectUri": redirect_uri,
            },
        )
        self._export_environment(template, fcm_server.url)

        specs = cfn.functions(template)
        routes: list[tuple[cfn.ApiRoute, LocalFunction]] = []
        jobs: list[tuple[LocalFunction, str, str]] = []
        for logical_id, spec in specs.items():
            if not (spec.routes or spec.queues or spec.schedules):
                continue
            if spec.condition and not cfn.condition_holds(
                template, spec.condition, self.provisioned.parameters
            ):
                continue  # not created with these parameters (EnableRelay=false, say)
            function = LocalFunction(spec)
            self.functions[logical_id] = function
            routes.extend((route, function) for route in spec.routes)
            for queue in spec.queues:
                self.pollers.append(
                    SqsPoller(self.provisioned.refs[queue], self.provisioned.arns[queue], function)
                )
            for schedule in spec.schedules:
                expression = str(self.provisioned.resolve(schedule["ScheduleExpression"]))
                zone = str(
                    self.provisioned.resolve(schedule.get("ScheduleExpressionTimezone", "UTC"))
                )
                jobs.append((function, expression, zone or "UTC"))
        client_config = local_client_config(fcm_server.url, self.identity.project_id, LOCAL_API_KEY)
        router = ApiRouter(routes, api_keys=frozenset({self.webhook_api_key}))

        def status() -> dict[str, Any]:
            return collect(template, self.provisioned, router.answers, LAST_RUNS)

        def timeline(notification_id: str) -> list[dict[str, str]]:
            import boto3

            from ecmpush_ops.timeline import as_json, build, read_collection

            deliveries = boto3.resource("dynamodb", region_name=REGION).Table(
                self.provisioned.refs["DeliveriesTable"]
            )
            return as_json(build(read_collection(deliveries, notification_id)))

        api = DispatcherMiddleware(
            router,
            {
                "/_devstack": ControlApp(self.functions, status, timeline),
                "/_devstack/sign-in": SignInBridge(self.identity, token_uri_for(fcm_server.url)),
                "/app": WebClientApp(client_config),
                "/docs": ApiDocsApp(),
            },
        )
        api_app.app = api
        self.urls["web"] = f"{api_server.url}/app/"
        self.urls["docs"] = f"{api_server.url}/docs/"
        self.scheduler = LocalScheduler(jobs)
        if consume:
            for poller in self.pollers:
                poller.start()
            self.scheduler.start()
        self._write_state()
        return self

    def stop(self) -> None:
        (self.config.state_dir / "stack.json").unlink(missing_ok=True)
        for poller in self.pollers:  # all at once: each may be mid-poll or mid-invocation
            poller.request_stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        for poller in self.pollers:
            poller.stop()
        for server in reversed(self._servers):
            server.stop()
        if self._moto is not None:
            self._moto.stop()

    def _start_moto(self) -> None:
        make_dynamodb_atomic()
        self._moto = ThreadedMotoServer(
            ip_address=self.config.host, port=self.config.moto_port, verbose=False
        )
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.urls["moto"] = f"http://{host}:{port}"
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.urls["moto"],
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
            }
        )

    def _serve(self, name: str, app: Any, port: int) -> BackgroundServer:
        server = BackgroundServer(app, self.config.host, port).start()
        self._servers.append(server)
        self.urls[name] = server.url
        return server

    def _export_environment(self, template: dict[str, Any], fcm_url: str) -> None:
        """Handlers run in this process: give them the template's variables, resolved."""
        os.environ.update(
            function_environment(template, self.provisioned, fcm_url, self.config.log_level)
        )
        from ecmpush import bootstrap

        bootstrap.reset()

    def _write_state(self) -> None:
        """What `python -m devstack token|sign|...` and a person with curl need to reach us."""
        state = {
            "urls": self.urls,
            "webhook_secret_file": str(self.config.state_dir / "webhook_secret"),
        }
        # Written whole or not at all: readers wait for the file to exist, then parse it.
        written = self.config.state_dir / "stack.json.tmp"
        written.write_text(json.dumps(state, indent=2))
        os.replace(written, self.config.state_dir / "stack.json")
