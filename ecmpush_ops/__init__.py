"""Operator commands for a deployed ecmpush stack, run from a checkout with the operator's own
AWS credentials (`python -m ecmpush_ops ...`); nothing here is deployed. docs/operations.md."""
