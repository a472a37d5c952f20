"""SharedLayer ships botocore's models only for the services layers/shared/aws-services.txt lists
(layers/shared/aws_services.py). These tests keep that list and the code in step without a
`sam build`: product code that creates a client for an unlisted service fails here (the layer
would have no model for it and the first call would fail in Lambda), and so does a listed
service that no code uses any more (it would ship for nothing)."""

from __future__ import annotations

from pathlib import Path

import aws_services
import pytest

ROOT = Path(__file__).resolve().parents[2]
LIST = ROOT / "layers" / "shared" / "aws-services.txt"
PRODUCT = (ROOT / "layers" / "shared" / "ecmpush", ROOT / "functions")


def _product_uses() -> list[aws_services.Use]:
    return aws_services.uses_under(PRODUCT, ROOT)


def test_every_service_the_product_code_creates_a_client_for_is_listed() -> None:
    listed = aws_services.read_services(LIST)
    unlisted = [use for use in _product_uses() if use.service not in listed]
    assert unlisted == [], "add these services to layers/shared/aws-services.txt"


def test_every_listed_service_is_used_by_the_product_code() -> None:
    used = {use.service for use in _product_uses()}
    assert sorted(set(aws_services.read_services(LIST)) - used) == []


def test_the_scan_finds_the_services_ecmpush_is_known_to_call() -> None:
    """A scan that finds nothing would pass the tests above vacuously."""
    uses = _product_uses()
    assert {use.service for use in uses} == {"dynamodb", "secretsmanager", "sqs", "ssm", "xray"}
    assert "functions/secret_rotation/app.py:" in " ".join(
        use.where for use in uses if use.service == "secretsmanager"
    )


def test_an_unlisted_service_in_new_code_is_caught() -> None:
    listed = aws_services.read_services(LIST)
    source = "import boto3\n\ndef archive(body):\n    boto3.client('s3').put_object(Body=body)\n"
    uses = aws_services.uses_in(source, "ecmpush/adapters/archive.py")
    assert uses == [aws_services.Use("s3", "ecmpush/adapters/archive.py:4")]
    assert [use.service for use in uses if use.service not in listed] == ["s3"]


@pytest.mark.parametrize(
    ("source", "service"),
    [
        ("import boto3\nboto3.resource('dynamodb')", "dynamodb"),
        ("import boto3\nboto3.session.Session().client(service_name='sns')", "sns"),
        ("from boto3 import client\nclient('s3')", "s3"),
        ("from boto3 import resource as aws\naws(service_name='dynamodb')", "dynamodb"),
        ("def f(session):\n    return session.client('kms', region_name='x')", "kms"),
        ("import botocore.session\nbotocore.session.get_session().create_client('sts')", "sts"),
        ("from aws_lambda_powertools.utilities.parameters import get_app_config", "appconfigdata"),
        ("from aws_lambda_powertools.utilities.parameters import SSMProvider", "ssm"),
        (
            "import aws_lambda_powertools.utilities.parameters as p\np.get_secret('x')",
            "secretsmanager",
        ),
        (
            "from aws_lambda_powertools.utilities import parameters\nparameters.get_secret('x')",
            "secretsmanager",
        ),
        (
            "from aws_lambda_powertools.utilities import idempotency as i\n"
            "i.DynamoDBPersistenceLayer(table_name='t')",
            "dynamodb",
        ),
        ("from aws_lambda_powertools.utilities.streaming import S3Object", "s3"),
        ("from aws_lambda_powertools import Tracer", "xray"),
    ],
)
def test_the_scan_reads_each_way_of_creating_a_client(source: str, service: str) -> None:
    assert [use.service for use in aws_services.uses_in(source, "m.py")] == [service]


def test_a_service_name_that_is_not_a_literal_cannot_be_checked_and_fails() -> None:
    uses = aws_services.uses_in("import boto3\nNAME = 'sqs'\nboto3.client(NAME)\n", "m.py")
    assert uses == [aws_services.Use(None, "m.py:3")]
    assert uses[0].service not in aws_services.read_services(LIST)  # so the first test fails


def test_unrelated_calls_are_not_clients() -> None:
    source = (
        "import requests\nfrom aws_lambda_powertools.utilities.parameters import "
        "GetParameterError\nrequests.Session().get('x')\nauth._get_client(app)\n"
    )
    assert aws_services.uses_in(source, "m.py") == []


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("dynamodb\n", "needs a `# who uses it` comment"),
        ("sqs  # a\nsqs  # b\n", "listed twice"),
        ("DynamoDB  # tables\n", "not a botocore service name"),
        ("# only comments\n", "no service listed"),
    ],
)
def test_the_list_is_refused_when_malformed(text: str, problem: str) -> None:
    with pytest.raises(aws_services.ServiceListError, match=problem.replace("`", ".")):
        aws_services.parse_services(text)


def _fake_tree(root: Path, botocore: list[str], boto3: list[str]) -> Path:
    for name in botocore:
        (root / "botocore" / "data" / name / "2020-01-01").mkdir(parents=True)
        (root / "botocore" / "data" / name / "2020-01-01" / "service-2.json.gz").write_bytes(b"")
    for name in boto3:
        (root / "boto3" / "data" / name).mkdir(parents=True)
    for top in ("endpoints.json", "partitions.json", "_retry.json"):
        (root / "botocore" / "data" / top).write_text("{}")
    return root


def test_prune_keeps_the_listed_services_and_the_shared_files(tmp_path: Path) -> None:
    tree = _fake_tree(tmp_path, ["dynamodb", "s3", "sqs", "ec2"], ["dynamodb", "s3"])
    removed = aws_services.prune(tree, ["dynamodb", "sqs"])
    assert removed == ["ec2", "s3"]
    assert aws_services.shipped_services(tree) == ["dynamodb", "sqs"]
    assert sorted(p.name for p in (tree / "boto3" / "data").iterdir()) == ["dynamodb"]
    kept = sorted(p.name for p in (tree / "botocore" / "data").iterdir() if p.is_file())
    assert kept == ["_retry.json", "endpoints.json", "partitions.json"]


def test_prune_refuses_a_listed_service_botocore_does_not_have_and_deletes_nothing(
    tmp_path: Path,
) -> None:
    tree = _fake_tree(tmp_path, ["dynamodb", "s3"], [])
    with pytest.raises(aws_services.ServiceListError, match="dynamo"):
        aws_services.prune(tree, ["dynamodb", "dynamo"])
    assert aws_services.shipped_services(tree) == ["dynamodb", "s3"]
