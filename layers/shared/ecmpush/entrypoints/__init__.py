"""What the Lambda handlers share and the domain never sees: the API resolver with its guard and
error table (app_api), HTTP answers (http), the webhook's wire formats (webhook_signature,
webhook_body), the scheduled functions' input and report (scheduled), Logger/Tracer/Metrics
(observability), and SnapStart's hooks (snapstart)."""
