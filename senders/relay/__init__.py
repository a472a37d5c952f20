"""The ecmpush relay: an ECM-side sender that needs no OScript.

`poll` reads Content Server's REST API (running workflows and their current steps, as the
service account) and posts signed `task.assigned` / `task.completed` events for what changed;
`forward` accepts unsigned events from scripts inside the ECM network that can make an HTTP POST
but cannot compute HMAC-SHA256 (a WebReport, a workflow event script), signs and forwards them.
"""
