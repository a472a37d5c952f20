"""The local stack: moto, the FCM and Content Server stand-ins, the API router, the SQS poller
and the schedules, all on 127.0.0.1 so the whole bundle runs on one machine without Docker."""
