"""The ecmpush relay: an ECM-side sender that needs no OScript.

`poll` reads Content Server's REST API (running workflows and their current steps, as the
service account) and posts signed `task.assigned` / `task.completed` events for what changed.
`forward` listens for scripts inside the ECM network that can make an HTTP POST but cannot
compute HMAC-SHA256 (a WebReport, a workflow event script): `POST /steps` takes a step's ids,
reads the step as `poll` does and posts the same events `poll` would; `POST /events` signs and
forwards a script's own event JSON, only for the event types the configuration's
`forward_event_types` lists (none by default).
"""
