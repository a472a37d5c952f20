"""Typed failures of the Content Server client, so callers decide by type, not by text.

The split follows what the reply path must do next: `EcmUnavailable` → keep the reply queued and
try later; `EcmTaskNotOpen` → tell the user the task is already handled (409); the others are
permanent for this request (configuration, a bug, or a server that changed shape).
"""

from __future__ import annotations


class EcmError(Exception):
    """Base of every error raised by the ECM client; `status` and `server_message` are what the
    server answered, when it answered at all."""

    def __init__(
        self, message: str, *, status: int | None = None, server_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.server_message = server_message


class EcmUnavailable(EcmError):
    """Content Server (or OTDS) could not be reached, answered 502/503/504, or answered a 200
    that is not JSON (a restarting server), and the retry budget ran out. Also a 500 on a task
    update while the task is still open (Content Server reports many transient faults as 500).
    Retry later; `retry_after` is the server's hint in seconds when it gave one."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        server_message: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, server_message=server_message)
        self.retry_after = retry_after


class EcmAuthError(EcmError):
    """Credentials refused, or a fresh ticket was refused again right after re-authenticating.
    Not retryable without an operator (rotate the secret, fix OTDS impersonation rights)."""


class EcmTaskNotOpen(EcmError):
    """The workflow step is no longer in progress (completed, sent on, or the workflow stopped),
    as the workflow status says."""


class EcmNotFound(EcmError):
    """The node, process, task or group does not exist, or is not visible to the caller: HTTP
    404, or the answers Content Server gives for it instead (400 "Could not access task status",
    400 "Could not get a node for {id}", 500 "Could not get a member for {id}")."""


class EcmProtocolError(EcmError):
    """The server answered something this client does not understand: a JSON shape that lacks
    what the REST API documents, or a status it never uses. Points at a version mismatch or a
    proxy in between, not at a transient fault."""


class EcmRejected(EcmError):
    """The server refused this request on its merits (400/403/409/422 while the task is still
    open): an unknown action key, a missing permission. Not retryable as is."""


class EcmNotAssignee(EcmRejected):
    """The step is open, but not in the acting user's inbox: Content Server lets only the user
    whose inbox holds a task open its form or send it on."""


class EcmStepNeedsAuthentication(EcmRejected):
    """The step asks whoever sends it on to authenticate again (the task form's
    `authentication`; the send-on must then carry `authentication_info`, else a real server
    answers 400). A reply from a push cannot: ecmpush never holds users' passwords. Refused
    before anything is sent, and not retried: the user answers such a step in Content Server."""


class EcmForbidden(EcmRejected):
    """The node exists, but Content Server refuses it to the acting user. Content Server itself
    answers an invisible and an unknown node alike; the client tells them apart by asking as the
    service account whether the node exists (docs/design/approver-api.md)."""


class EcmContentTooLarge(EcmRejected):
    """The document is larger than the caller may pass on (`size` bytes; `limit` the cap). Its
    bytes were not read past the cap."""

    def __init__(self, message: str, *, size: int | None, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class EcmImpersonationOff(EcmError):
    """A call that must run as the user (their inbox, their documents) while the client is not
    configured to impersonate users (`act_as_user`): answering it as the service account would
    show the user what they may not see."""
