"""`python -m ecmpush_ops timeline <notification_id> --stack NAME [--region R] [--json]`: the
evidence timeline of one notification of a deployed stack, read with the operator's own AWS
credentials (cloudformation:DescribeStackResource on the stack, dynamodb:Query on its
DeliveriesTable). docs/operations.md."""

from __future__ import annotations

import argparse
import json
import sys

from ecmpush_ops.timeline import as_json, build, read_collection, render


def deliveries_table(stack: str, region: str | None) -> object:
    """The stack's DeliveriesTable, found by its logical id."""
    import boto3

    session = boto3.session.Session(region_name=region)
    resource = session.client("cloudformation").describe_stack_resource(
        StackName=stack, LogicalResourceId="DeliveriesTable"
    )
    name = resource["StackResourceDetail"]["PhysicalResourceId"]
    return session.resource("dynamodb").Table(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ecmpush_ops", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    timeline = commands.add_parser("timeline", help="one notification's evidence timeline")
    timeline.add_argument("notification_id")
    timeline.add_argument("--stack", required=True, help="the CloudFormation stack name")
    timeline.add_argument("--region", default=None)
    timeline.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    table = deliveries_table(args.stack, args.region)
    entries = build(read_collection(table, args.notification_id))
    print(json.dumps(as_json(entries), indent=2) if args.json else render(entries))
    return 0


if __name__ == "__main__":
    sys.exit(main())
