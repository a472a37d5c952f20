"""The layers' locked sets (layers/shared and layers/firebase requirements.txt) are lean and
enough for the code, each function with the layers template.yaml attaches to it.

The locks are installed for this interpreter exactly as the layer builds install them for
Lambda (`--no-deps --require-hashes`), and every handler is imported in a fresh `-S`
interpreter with only its layers' trees on the path (layers/shared/layer_check.py): a missing
dependency or a missing layer fails here, and each handler's import graph is asserted on what
really reached `sys.modules`. The shared tree is pruned to the AWS models aws-services.txt lists,
as the build prunes the layer (layers/shared/aws_services.py), so all of this runs against what
ships."""

from __future__ import annotations

import copy
import fcntl
import json
import os
import re
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

import aws_services
import layer_check
import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "shared"
LOCK = LAYER / "requirements.txt"
FIREBASE_LOCK = ROOT / "layers" / "firebase" / "requirements.txt"
FUNCTIONS = ROOT / "functions"
TEMPLATE = ROOT / "template.yaml"
SERVICES = sorted(aws_services.read_services(LAYER / "aws-services.txt"))
UNUSED = ROOT / "layers" / "firebase" / "requirements-unused.in"
FORBIDDEN = ("grpcio", "grpcio-status", "google-cloud-firestore", "google-cloud-storage",
             "google-api-core", "google-cloud-core", "protobuf", "proto-plus")  # fmt: skip
HTTP_APIS = ("webhook_intake", "devices", "response_callback")
SWEEPS = ("expiry_sweep", "sla_sweep", "device_prune")

pytestmark = pytest.mark.timeout(900)

_PROBE = layer_check.probe
_probed: dict[str, dict[str, list[Any]]] = {}
_probed_lock = threading.Lock()


@pytest.fixture(autouse=True)
def _each_probe_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe is a fresh interpreter importing the same files with the same arguments: within
    a session its answer cannot change, so each distinct one runs once per worker (the checks
    and the import-graph tests below ask many of the same; the scratch trees of a test that
    writes its own app or template have paths of their own)."""

    def probe(*args: Any, **kwargs: Any) -> dict[str, list[Any]]:
        key = json.dumps([args, kwargs], default=str, sort_keys=True)
        with _probed_lock:
            known = _probed.get(key)
        if known is None:
            known = _PROBE(*args, **kwargs)
            with _probed_lock:
                _probed[key] = known
        return copy.deepcopy(known)

    monkeypatch.setattr(layer_check, "probe", probe)


def _locked(lock: Path = LOCK) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", lock.read_text(), flags=re.MULTILINE)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_no_lock_holds_a_heavy_dependency_firebase_admin_declares() -> None:
    firebase = _locked(FIREBASE_LOCK)
    assert "firebase-admin" in firebase
    assert "google-auth" in firebase
    for lock in (LOCK, FIREBASE_LOCK):
        assert not [name for name in FORBIDDEN if name in _locked(lock)]


def _declared_unused() -> list[str]:
    return re.findall(r"^([A-Za-z0-9._-]+)\s+#", UNUSED.read_text(), flags=re.MULTILINE)


def test_what_the_firebase_lock_declares_unused_is_not_in_it() -> None:
    unused = _declared_unused()
    assert unused == ["pyasn1", "pyasn1-modules", "pycparser"]
    assert set(unused) & set(_locked(FIREBASE_LOCK)) == set()


# The Firebase paths the left-out packages would serve, offline: firebase-admin's service-account
# credential signing (the FCM OAuth assertion) and google-auth's RS256 check of a token against
# an x509 certificate (how verify_id_token checks an ID token against Google's certificates).
_SIGN_AND_VERIFY = """
import datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from firebase_admin import credentials
from google.auth import jwt
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption()).decode()
info = {"type": "service_account", "project_id": "p", "private_key_id": "k1", "private_key": pem,
        "client_email": "fcm@p.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token"}
signer = credentials.Certificate(info).get_credential().signer
now = datetime.datetime.now(datetime.UTC)
claims = {"aud": "p", "iss": "x", "sub": "u1", "iat": int(now.timestamp()),
          "exp": int(now.timestamp()) + 600}
token = jwt.encode(signer, claims)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "k1")])
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
certs = {"k1": cert.public_bytes(serialization.Encoding.PEM).decode()}
assert jwt.decode(token, certs=certs, audience="p")["sub"] == "u1"
"""


def test_firebase_signing_and_token_checks_run_without_what_the_lock_leaves_out(
    site: Path, firebase_site: Path
) -> None:
    result = layer_check.probe(sys.executable, [site, firebase_site], None, [_SIGN_AND_VERIFY])
    assert result["failures"] == []
    modules = {name.split(".")[0] for name in result["after"]}
    assert "cryptography" in modules
    assert modules & {"pyasn1", "pyasn1_modules", "pycparser", "cffi"} == set()


def test_the_shared_layer_holds_nothing_of_firebase_and_the_locks_do_not_overlap() -> None:
    shared, firebase = _locked(LOCK), _locked(FIREBASE_LOCK)
    assert not {"firebase-admin", "google-auth", "cryptography", "cachecontrol", "httpx"} & set(
        shared
    )
    assert set(shared) & set(firebase) == set()


@pytest.mark.parametrize("lock", [LOCK, FIREBASE_LOCK], ids=["shared", "firebase"])
def test_every_locked_requirement_is_pinned_and_hashed(lock: Path) -> None:
    text = "\n".join(ln for ln in lock.read_text().splitlines() if not ln.startswith("# "))
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    requirements = [e for e in entries if e.strip() and not e.startswith("#")]
    assert len(requirements) == len(_locked(lock))
    for entry in requirements:
        assert "==" in entry.split("\\")[0], entry
        assert "--hash=sha256:" in entry, entry


def test_import_statements_skip_type_checking_and_runtime_provided_modules() -> None:
    source = (
        "from __future__ import annotations\nfrom typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    import mypy_boto3_sqs\nelse:\n    import json\n"
        "def f():\n    from firebase_admin import auth\n"
        "try:\n    import snapshot_restore_py\nexcept ImportError:\n    pass\n"
    )
    assert layer_check.import_statements(source) == [
        "from typing import TYPE_CHECKING",
        "import json",
        "from firebase_admin import auth",
    ]


def _installed(tmp_path_factory: pytest.TempPathFactory, name: str, lock: Path) -> Path:
    """The lock installed into a tree once per run, for every xdist worker (under a file lock;
    the trees are only read afterwards)."""
    run = tmp_path_factory.getbasetemp()
    run = run.parent if os.environ.get("PYTEST_XDIST_WORKER") else run
    target = run / name / "python"
    with (run / f"{name}.lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if not (run / name / "installed").exists():
            shutil.rmtree(run / name, ignore_errors=True)
            layer_check.install(lock, target)
            if lock == LOCK:  # the package too, and the models pruned, as the layer build does
                ignore = shutil.ignore_patterns("__pycache__")
                shutil.copytree(LAYER / "ecmpush", target / "ecmpush", ignore=ignore)
                aws_services.prune(target, SERVICES)
            (run / name / "installed").touch()
    return target


@pytest.fixture(scope="module")
def firebase_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _installed(tmp_path_factory, "firebase-layer", FIREBASE_LOCK)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _installed(tmp_path_factory, "shared-layer", LOCK)


def _check(
    site: Path,
    firebase_site: Path,
    functions: Path,
    template: Path | None,
    services: list[str] | None = None,
) -> list[str]:
    return layer_check.check(
        LOCK,
        LAYER / "ecmpush",
        functions,
        site,
        layers={"FirebaseLayer": FIREBASE_LOCK},
        template=template,
        sites={"FirebaseLayer": firebase_site},
        services=SERVICES if services is None else services,
    )


def test_every_function_imports_with_exactly_the_layers_the_template_attaches(
    site: Path, firebase_site: Path
) -> None:
    assert _check(site, firebase_site, FUNCTIONS, TEMPLATE) == []
    dists = [*site.glob("*.dist-info"), *firebase_site.glob("*.dist-info")]
    installed = {p.name.split("-")[0].lower() for p in dists}
    assert not {"grpcio", "google_cloud_firestore", "google_cloud_storage"} & installed


def test_the_pruned_layer_keeps_only_the_listed_models_and_each_makes_a_client(
    site: Path,
) -> None:
    assert aws_services.shipped_services(site) == SERVICES
    assert layer_check.probe_clients(sys.executable, site, SERVICES) == []
    data = site / "botocore" / "data"
    assert {"endpoints.json", "partitions.json", "_retry.json"} <= {
        p.name for p in data.iterdir() if p.is_file()
    }


def test_a_listed_service_whose_model_is_missing_fails_the_check(
    site: Path, tmp_path: Path
) -> None:
    """s3 was pruned from this tree: listing it (a service added to the list after the layer
    was built, or a model deleted by hand) must fail, and so must a rule set gone missing
    (botocore would fall back to legacy endpoints without a word)."""
    problems = layer_check.probe_clients(sys.executable, site, ["sqs", "s3"])
    assert len(problems) == 1
    assert problems[0].startswith("boto3 client 's3'")
    partial = tmp_path / "python"
    shutil.copytree(site / "boto3", partial / "boto3")
    shutil.copytree(site / "botocore", partial / "botocore")
    for rule_set in (partial / "botocore" / "data" / "sqs").rglob("endpoint-rule-set-1.*"):
        rule_set.unlink()
    problems = layer_check.probe_clients(sys.executable, [partial, site], ["dynamodb", "sqs"])
    assert len(problems) == 1
    assert problems[0].startswith("boto3 client 'sqs'")


def test_a_misspelt_service_in_the_list_fails_the_check(
    site: Path, firebase_site: Path, tmp_path: Path
) -> None:
    problems = _check(site, firebase_site, tmp_path, None, [*SERVICES, "dynamo"])
    assert problems == ["aws-services.txt: not in botocore/data (misspelt, or already pruned): "
                        "['dynamo']"]  # fmt: skip


def test_the_check_names_what_the_locks_lack(
    site: Path, firebase_site: Path, tmp_path: Path
) -> None:
    app = tmp_path / "fn" / "app.py"
    app.parent.mkdir()
    app.write_text("from google.cloud import firestore\n")
    problems = _check(site, firebase_site, tmp_path, None)
    assert problems
    assert all("google.cloud" in p for p in problems)


def test_a_function_that_needs_firebase_without_its_layer_fails_the_check(
    site: Path, firebase_site: Path, tmp_path: Path
) -> None:
    """Dispatch's first call sends through firebase-admin: without FirebaseLayer attached, the
    build must stop (here: the template with Dispatch's own Layers removed)."""
    template = TEMPLATE.read_text()
    start = template.index("  DispatchFunction:\n")
    attach = "      Layers:\n        - !Ref FirebaseLayer\n"
    at = template.index(attach, start)
    (tmp_path / "template.yaml").write_text(template[:at] + template[at + len(attach) :])
    problems = _check(site, firebase_site, FUNCTIONS, tmp_path / "template.yaml")
    assert problems
    assert all(p.startswith("dispatch (SharedLayer, tracing") for p in problems), problems
    assert any("firebase_admin" in p for p in problems)


def _modules(site: Path, function: str, tracing: str) -> set[str]:
    result = layer_check.probe(
        sys.executable, site, "app", [], FUNCTIONS / function,
        {"ECMPUSH_TRACING": tracing},
    )  # fmt: skip
    assert result["failures"] == []
    return set(result["modules"])


@pytest.mark.parametrize("function", sorted(p.parent.name for p in FUNCTIONS.glob("*/app.py")))
def test_no_handler_imports_the_xray_sdk_unless_tracing_asks_for_it(
    site: Path, function: str
) -> None:
    assert "aws_xray_sdk" not in _modules(site, function, "lambda")
    assert "firebase_admin" not in _modules(site, function, "lambda")  # first use, not init
    if function != "secret_rotation":  # rotation has no Powertools Tracer at all
        assert "aws_xray_sdk.core" in _modules(site, function, "sdk")


# What no handler's init (`import app`, tracing `lambda`) may load: each is its first request's
# cost or a rare path's (bench/cold_import, docs/benchmarks.md §1). boto3 comes with the first AWS
# call (bootstrap's factories, sqs_visibility's client); the rotation function is the exception,
# it is boto3 and little else.
NOT_AT_INIT = (
    "boto3",
    "botocore.client",
    "botocore.exceptions",  # the API's 503 for SDK errors finds them in sys.modules (app_api.py)
    "aws_lambda_powertools.utilities.parameters",
    "aws_lambda_powertools.utilities.idempotency",
    "firebase_admin",
    "google.auth",
    "cryptography",
    "requests",
    "aws_xray_sdk",
)
NOT_AT_INIT_OF = {
    # The notification history (boto3's condition builder, the deliveries repository and its
    # models) is for GET /me/notifications only; its cursor error lives in domain/page.py.
    # Nor the other flows' models: ecmpush/ports.py imports the domain for annotations only.
    "devices": (
        "ecmpush.adapters.history_repository",
        "ecmpush.adapters.deliveries_repository",
        "ecmpush.domain.delivery.notifications",
        "ecmpush.domain.intake.events",
        "ecmpush.domain.ecm.model",
        "ecmpush.domain.delivery.messages",
    ),
    "webhook_intake": ("ecmpush.entrypoints.app_api",),
    # The reply body needs a pattern and a Literal, not the device, notification or event models
    # (domain/delivery/installation_ids.py, domain/replies/reply_actions.py): the service's first
    # call builds them.
    "response_callback": (
        "ecmpush.domain.delivery.devices",
        "ecmpush.domain.delivery.notifications",
        "ecmpush.domain.intake.events",
    ),
}


@pytest.mark.parametrize(
    "function",
    sorted(p.parent.name for p in FUNCTIONS.glob("*/app.py") if p.parent.name != "secret_rotation"),
)
def test_no_handler_init_imports_what_only_its_first_call_needs(site: Path, function: str) -> None:
    modules = _modules(site, function, "lambda")
    loaded = [name for name in (*NOT_AT_INIT, *NOT_AT_INIT_OF.get(function, ())) if name in modules]
    assert loaded == []


def test_webhook_intake_init_imports_neither_firebase_nor_google_auth_nor_cryptography(
    site: Path,
) -> None:
    modules = _modules(site, "webhook_intake", "lambda")
    assert not {"firebase_admin", "google.auth", "cryptography", "boto3"} & modules
    assert "aws_lambda_powertools.event_handler" in modules  # the resolver is built at init


@pytest.mark.parametrize("function", SWEEPS)
def test_sweeps_do_not_import_the_api_layer(site: Path, function: str) -> None:
    modules = _modules(site, function, "lambda")
    assert "ecmpush.entrypoints.app_api" not in modules
    assert "aws_lambda_powertools.event_handler" not in modules


def test_webhook_intake_needs_no_firebase_on_any_path(site: Path) -> None:
    source = (FUNCTIONS / "webhook_intake" / "app.py").read_text()
    _, first_call = layer_check.first_call_imports(source, site)
    result = layer_check.probe(
        sys.executable, site, "app", first_call, FUNCTIONS / "webhook_intake"
    )
    assert result["failures"] == []
    assert "firebase_admin" not in result["after"]
