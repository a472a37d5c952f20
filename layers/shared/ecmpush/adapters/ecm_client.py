"""Content Server (Extended ECM) REST client for the reply path and record look-ups.

Built on `requests` rather than pyxecm: pyxecm sleeps 30 s waiting for readiness, retries
without bound and returns None on failure, none of which fits a Lambda that must either apply a
reply or leave it queued. This client keeps one ticket per acting identity on the instance (a warm
container reuses it), re-authenticates exactly once on 401, retries transient faults only within
the caller's time budget and raises typed errors (`ecmpush.adapters.ecm.errors`).

REST calls (docs/ecm.md has the shapes and where each was checked):
- task form     GET  /api/v1/forms/processes/tasks/update?process_id=&subprocess_id=&task_id=
- complete task PUT  /api/v2/processes/{p}/subprocesses/{s}/tasks/{t}  (action | custom_action,
  comment)
- history       GET  /api/v2/processes/{p}/subprocesses/{s}/activities
- node          GET  /api/v2/nodes/{id}
- search        POST /api/v2/search  (where, location_id1.., page, limit)
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence

import requests

from ecmpush.adapters.ecm import parsing
from ecmpush.adapters.ecm.auth import Actor, Authenticator
from ecmpush.adapters.ecm.config import AuthMode, EcmConfig
from ecmpush.adapters.ecm.errors import (
    EcmAuthError,
    EcmError,
    EcmNotFound,
    EcmProtocolError,
    EcmRejected,
    EcmTaskNotOpen,
    EcmUnavailable,
)
from ecmpush.adapters.ecm.models import (
    Activity,
    CompletionResult,
    Node,
    SearchPage,
    TaskDetails,
    TaskRef,
    integer_id,
)
from ecmpush.adapters.ecm.transport import Answer, Deadline, FormData, Transport
from ecmpush.domain.dispositions import Disposition, DispositionKind

__all__ = [
    "AuthMode",
    "EcmAuthError",
    "EcmClient",
    "EcmConfig",
    "EcmError",
    "EcmNotFound",
    "EcmProtocolError",
    "EcmRejected",
    "EcmTaskNotOpen",
    "EcmUnavailable",
    "TaskRef",
    "on_behalf_of_prefix",
]

log = logging.getLogger(__name__)


def on_behalf_of_prefix(user_id: str) -> str:
    """The start of a send-on comment when the service account acts for `user_id`, so the
    workflow audit trail names the person who decided. The rest of the text is the caller's."""
    return f"On behalf of {user_id}: "


def _failure(answer: Answer, what: str) -> EcmError:
    """Map a final non-2xx, non-401 answer to the error type the caller acts on."""
    text = parsing.error_text(answer.body) or answer.text[:200]
    detail = f"{what}: HTTP {answer.status}: {text}"
    if answer.status == 404:
        return EcmNotFound(detail, status=404, server_message=text)
    if answer.status in (400, 403, 405, 409, 422):
        return EcmRejected(detail, status=answer.status, server_message=text)
    if answer.status >= 500:
        # Content Server answers many server-side faults as 500 with an error text.
        return EcmUnavailable(detail, status=answer.status, server_message=text)
    if 300 <= answer.status < 400:
        location = answer.headers.get("Location", "?")
        return EcmProtocolError(
            f"{what}: redirected to {location} (a login page in front of the REST API?)",
            status=answer.status,
        )
    return EcmProtocolError(detail, status=answer.status, server_message=text)


class EcmClient:
    """One instance per container; methods are safe to call from several threads."""

    def __init__(
        self,
        config: EcmConfig,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._config = config
        self._session = session or requests.Session()
        self._transport = Transport(config, self._session, sleep=sleep, clock=clock, rand=rand)
        self._auth = Authenticator(config, self._transport)

    @property
    def config(self) -> EcmConfig:
        return self._config

    @property
    def logins(self) -> int:
        """Tickets obtained so far by this instance (each login or re-authentication)."""
        return self._auth.logins

    def impersonates(self, as_user: str | None) -> bool:
        """True when calls made with `as_user` run under that user's own ticket (OTDS token
        exchange); False means they run as the service account."""
        return self._auth.actor(as_user).user is not None

    def comment_prefix(self, as_user: str) -> str:
        """`on_behalf_of_prefix(as_user)` when acting as the service account, else ""."""
        return "" if self.impersonates(as_user) else on_behalf_of_prefix(as_user)

    def acting_name(self, as_user: str | None = None) -> str:
        """The Content Server login that requests for `as_user` are recorded under."""
        return self._auth.name_of(self._auth.actor(as_user))

    def close(self) -> None:
        self._session.close()

    # -- workflow tasks -------------------------------------------------------------------

    def get_task(
        self, ref: TaskRef, *, as_user: str | None = None, budget_s: float | None = None
    ) -> TaskDetails:
        """The task form: title, instructions and the actions/custom actions it offers."""
        deadline = self._transport.deadline(budget_s)
        return self._get_task(ref, self._auth.actor(as_user), deadline)

    def complete_task(
        self,
        ref: TaskRef,
        *,
        action: str | None = None,
        custom_action: str | None = None,
        comment: str,
        as_user: str | None = None,
        assignee: str | int | None = None,
        budget_s: float | None = None,
    ) -> CompletionResult:
        """Send the task on with one standard `action` (SendOn, SendForReview, ...) or one
        `custom_action` (a disposition such as Approve), and `comment` for the audit trail.

        `assignee` is passed for actions that route to someone (Delegate, Review). Raises
        `EcmTaskNotOpen` when the task can no longer be acted on; returns `already_applied`
        when it is closed because this same comment was already recorded (a retry whose first
        attempt went through)."""
        if (action is None) == (custom_action is None):
            raise ValueError("pass exactly one of action or custom_action")
        kind = DispositionKind.ACTION if action is not None else DispositionKind.CUSTOM_ACTION
        key = action if action is not None else custom_action
        assert key is not None
        actor = self._auth.actor(as_user)
        deadline = self._transport.deadline(budget_s)
        form: dict[str, str] = {kind.value: key, "comment": comment}
        if assignee is not None:
            form["assignee"] = str(assignee)
        path = (
            f"/v2/processes/{ref.process_id}/subprocesses/{ref.subprocess_id}/tasks/{ref.task_id}"
        )
        try:
            answer = self._api("PUT", path, actor, deadline, data=form, what=f"complete {ref}")
        except (EcmRejected, EcmNotFound, EcmUnavailable) as exc:
            if isinstance(exc, EcmUnavailable) and exc.status != 500:
                raise
            return self._explain_refusal(ref, kind, key, comment, actor, deadline, exc)
        return CompletionResult(
            ref=ref,
            kind=kind,
            key=key,
            acted_as=self._auth.name_of(actor),
            raw=answer.body if isinstance(answer.body, dict) else {},
        )

    def apply_disposition(
        self,
        ref: TaskRef,
        disposition: Disposition,
        *,
        comment: str,
        as_user: str | None = None,
        assignee: str | int | None = None,
        budget_s: float | None = None,
    ) -> CompletionResult:
        """`complete_task` with the field chosen by `choose_disposition`."""
        if disposition.kind is DispositionKind.ACTION:
            return self.complete_task(
                ref,
                action=disposition.key,
                comment=comment,
                as_user=as_user,
                assignee=assignee,
                budget_s=budget_s,
            )
        return self.complete_task(
            ref,
            custom_action=disposition.key,
            comment=comment,
            as_user=as_user,
            assignee=assignee,
            budget_s=budget_s,
        )

    def task_activities(
        self, ref: TaskRef, *, as_user: str | None = None, budget_s: float | None = None
    ) -> list[Activity]:
        """The process's comment/audit history, oldest first as the server lists it."""
        deadline = self._transport.deadline(budget_s)
        return self._activities(ref, self._auth.actor(as_user), deadline)

    # -- nodes and search -----------------------------------------------------------------

    def get_node(
        self, node_id: int | str, *, categories: bool = False, budget_s: float | None = None
    ) -> Node:
        """A node's properties (and category values with `categories=True`)."""
        node = integer_id("node_id", node_id)
        fields = ["properties", "categories"] if categories else ["properties"]
        answer = self._api(
            "GET",
            f"/v2/nodes/{node}",
            Actor(None),
            self._transport.deadline(budget_s),
            params={"fields": fields},
            what=f"node {node}",
        )
        return parsing.node(answer.body)

    def search(
        self,
        where: str,
        *,
        location_id: int | str | Sequence[int | str] | None = None,
        page: int = 1,
        limit: int = 100,
        budget_s: float | None = None,
    ) -> SearchPage:
        """One page of an LQL search (`lookfor=complexquery`), optionally below locations."""
        if page < 1 or limit < 1:
            raise ValueError("page and limit start at 1")
        form: dict[str, str] = {
            "where": where,
            "lookfor": "complexquery",
            "page": str(page),
            "limit": str(limit),
        }
        if location_id is not None:
            ids = [location_id] if isinstance(location_id, int | str) else list(location_id)
            for i, loc in enumerate(ids, start=1):
                form[f"location_id{i}"] = str(loc)
        answer = self._api(
            "POST",
            "/v2/search",
            Actor(None),
            self._transport.deadline(budget_s),
            data=form,
            what="search",
        )
        return parsing.search_page(answer.body)

    # -- internals ------------------------------------------------------------------------

    def _api(
        self,
        method: str,
        path: str,
        actor: Actor,
        deadline: Deadline,
        *,
        what: str,
        params: FormData | None = None,
        data: FormData | None = None,
    ) -> Answer:
        """Authenticated call: one re-authentication on 401, then the answer must be 2xx."""
        url = f"{self._config.api_url}{path}"
        reauthenticated = False
        while True:
            ticket = self._auth.ticket(actor, deadline)
            answer = self._transport.request(
                method,
                url,
                deadline=deadline,
                headers={"OTCSTicket": ticket},
                params=params,
                data=data,
            )
            if answer.status == 401:
                self._auth.invalidate(actor, ticket)
                if reauthenticated:
                    raise EcmAuthError(
                        f"{what}: a fresh ticket for {self._auth.name_of(actor)} was refused too",
                        status=401,
                        server_message=parsing.error_text(answer.body),
                    )
                log.info("ECM %s: ticket refused (expired?), re-authenticating once", what)
                reauthenticated = True
                continue
            if not answer.ok:
                raise _failure(answer, what)
            return answer

    def _get_task(self, ref: TaskRef, actor: Actor, deadline: Deadline) -> TaskDetails:
        answer = self._api(
            "GET",
            "/v1/forms/processes/tasks/update",
            actor,
            deadline,
            params={
                "process_id": ref.process_id,
                "subprocess_id": ref.subprocess_id,
                "task_id": ref.task_id,
            },
            what=f"task {ref}",
        )
        return parsing.task_details(answer.body, ref)

    def _activities(self, ref: TaskRef, actor: Actor, deadline: Deadline) -> list[Activity]:
        answer = self._api(
            "GET",
            f"/v2/processes/{ref.process_id}/subprocesses/{ref.subprocess_id}/activities",
            actor,
            deadline,
            what=f"activities of {ref}",
        )
        return parsing.activities(answer.body)

    def _explain_refusal(
        self,
        ref: TaskRef,
        kind: DispositionKind,
        key: str,
        comment: str,
        actor: Actor,
        deadline: Deadline,
        refusal: EcmError,
    ) -> CompletionResult:
        """A refused update is ambiguous (Content Server words and codes vary by version), so
        look at the task itself: still open → the refusal stands; gone or closed → the task is
        not open, unless its history already holds this exact comment (our earlier attempt)."""
        try:
            task: TaskDetails | None = self._get_task(ref, actor, deadline)
        except EcmRejected:
            task = None  # the form is no longer reachable for this user: not in the inbox
        if task is not None and task.is_open:
            raise refusal
        if self._comment_recorded(ref, comment, actor, deadline):
            log.info("ECM task %s already carries this reply; not sending it again", ref)
            return CompletionResult(
                ref=ref,
                kind=kind,
                key=key,
                acted_as=self._auth.name_of(actor),
                already_applied=True,
            )
        raise EcmTaskNotOpen(
            f"task {ref} is no longer open: {refusal.server_message or refusal}",
            status=refusal.status,
            server_message=refusal.server_message,
        ) from refusal

    def _comment_recorded(
        self, ref: TaskRef, comment: str, actor: Actor, deadline: Deadline
    ) -> bool:
        if not comment:
            return False
        try:
            history = self._activities(ref, actor, deadline)
        except (EcmRejected, EcmNotFound, EcmProtocolError) as exc:
            log.warning("ECM history of %s not readable (%s); assuming not applied", ref, exc)
            return False
        return any(
            entry.comment == comment and (entry.task_id in (None, ref.task_id)) for entry in history
        )
