"""The layer's locked set (layers/shared/requirements.txt) is lean and enough for the code.

The lock is installed for this interpreter exactly as the layer build installs it for Lambda
(`--no-deps --require-hashes`), and every handler is imported in a fresh `-S` interpreter with
only that tree on the path (layers/shared/layer_check.py): a missing dependency fails here, and
each handler's import graph is asserted on what really reached `sys.modules`."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import layer_check
import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "shared"
LOCK = LAYER / "requirements.txt"
FUNCTIONS = ROOT / "functions"
FORBIDDEN = ("grpcio", "grpcio-status", "google-cloud-firestore", "google-cloud-storage",
             "google-api-core", "google-cloud-core", "protobuf", "proto-plus")  # fmt: skip
HTTP_APIS = ("webhook_intake", "devices", "response_callback")
SWEEPS = ("expiry_sweep", "sla_sweep", "device_prune")

pytestmark = pytest.mark.timeout(900)


def _locked() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9._-]+)==(\S+)", LOCK.read_text(), flags=re.MULTILINE)
    return {name.lower().replace("_", "-"): version for name, version in pins}


def test_the_lock_holds_no_heavy_dependency_firebase_admin_declares() -> None:
    locked = _locked()
    assert "firebase-admin" in locked
    assert "google-auth" in locked
    assert not [name for name in FORBIDDEN if name in locked]


def test_every_locked_requirement_is_pinned_and_hashed() -> None:
    entries = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text().split("\n", 3)[3])
    requirements = [e for e in entries if e.strip() and not e.startswith("#")]
    assert len(requirements) == len(_locked())
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


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("layer") / "python"
    layer_check.install(LOCK, target)
    # The package too, as the layer build puts it: each xdist worker has its own copy of this
    # module fixture, and not every worker runs the test whose `check` would copy it.
    shutil.copytree(
        LAYER / "ecmpush", target / "ecmpush", ignore=shutil.ignore_patterns("__pycache__")
    )
    return target


def test_every_import_of_ecmpush_and_the_handlers_resolves_with_the_lock_only(site: Path) -> None:
    assert layer_check.check(LOCK, LAYER / "ecmpush", FUNCTIONS, site) == []
    installed = {p.name.split("-")[0].lower() for p in site.glob("*.dist-info")}
    assert not {"grpcio", "google_cloud_firestore", "google_cloud_storage"} & installed


def test_the_check_names_what_the_lock_lacks(site: Path, tmp_path: Path) -> None:
    app = tmp_path / "fn" / "app.py"
    app.parent.mkdir()
    app.write_text("from google.cloud import firestore\n")
    problems = layer_check.check(LOCK, LAYER / "ecmpush", tmp_path, site)
    assert problems
    assert all("google.cloud" in p for p in problems)


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
    # models) is for GET /me/notifications only; its cursor error lives in history_cursor.
    "devices": ("ecmpush.adapters.history_repository", "ecmpush.adapters.deliveries_repository"),
    "webhook_intake": ("ecmpush.app_api",),
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
    assert "ecmpush.app_api" not in modules
    assert "aws_lambda_powertools.event_handler" not in modules


def test_webhook_intake_needs_no_firebase_on_any_path(site: Path) -> None:
    from bench.cold_import import lazy_imports

    _, first_call = lazy_imports((FUNCTIONS / "webhook_intake" / "app.py").read_text(), site)
    result = layer_check.probe(
        sys.executable, site, "app", first_call, FUNCTIONS / "webhook_intake"
    )
    assert result["failures"] == []
    assert "firebase_admin" not in result["after"]
