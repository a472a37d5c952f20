"""ecmpush: Extended ECM events to Firebase Cloud Messaging pushes, and replies back into ECM.

`domain` is plain Python (no boto3, no firebase-admin, no requests); `adapters` hold the AWS, ECM
and FCM edges; `services` are the use cases the Lambda handlers call."""
