"""Edges to DynamoDB, SQS, Secrets Manager, Firebase and Content Server."""
