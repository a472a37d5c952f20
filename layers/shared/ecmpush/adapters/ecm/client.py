"""Content Server (Extended ECM) REST client behind `ports.ContentServer`: workflow calls as the
user whose inbox holds the step, the rest as the service account, typed errors.
Why: docs/design/content-server-client.md."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Sequence

import requests

from ecmpush.adapters.ecm import parsing
from ecmpush.adapters.ecm.auth import Actor, Authenticator
from ecmpush.adapters.ecm.config import EcmConfig
from ecmpush.adapters.ecm.transport import Answer, Download, Downloader, FormData, Transport
from ecmpush.clock import Deadline
from ecmpush.domain.delivery.messages import MemberType
from ecmpush.domain.ecm.errors import (
    EcmAuthError,
    EcmContentTooLarge,
    EcmError,
    EcmForbidden,
    EcmImpersonationOff,
    EcmNotAssignee,
    EcmNotFound,
    EcmProtocolError,
    EcmRejected,
    EcmTaskNotOpen,
    EcmUnavailable,
)
from ecmpush.domain.ecm.model import (
    ActiveWorkflow,
    Activity,
    Assignment,
    CompletionResult,
    MembersPage,
    NodeContent,
    NodeInfo,
    SearchPage,
    TaskDetails,
    WorkflowStatus,
    integer_id,
)
from ecmpush.domain.ecm.task_ref import TaskRef
from ecmpush.domain.replies.dispositions import DispositionKind
from ecmpush.privacy import who

log = logging.getLogger(__name__)

MEMBERS_PAGE_LIMIT = 100  # members asked for per page of a group (the server may answer fewer)
_WHERE_TYPE: dict[MemberType, str] = {"users": "0", "groups": "1"}


# Refusals as the REST API 2.0.2 document words them, whatever their status: "Could not get a
# member for {id}" and "Invalid group {id}" are 500s of the members routes, "Could not access
# task status" the 400 of the workflow status, history and accept routes for a process that does
# not exist or that the caller may not see (the server does not tell the two apart), "Could not
# get a node for {id}" the 400 of `GET /api/v2/nodes/{id}`. Read by status alone the 500s would
# be outages, retried into a dead-letter queue; they are answers on the merits.
_REFUSALS: tuple[tuple[str, type[EcmError]], ...] = (
    ("could not get a member for", EcmNotFound),
    ("invalid group", EcmRejected),
    ("insufficient privileges", EcmRejected),
    ("could not access task status", EcmNotFound),
    ("could not get a node for", EcmNotFound),
    # The 500 of `GET /api/v2/nodes/{id}/content`: "Sorry, the item you requested could not be
    # accessed. Either it does not exist, or you do not have permission to access it."
    ("could not be accessed", EcmNotFound),
)


def _failure(answer: Answer, what: str) -> EcmError:
    """Map a final non-2xx, non-401 answer to the error type the caller acts on."""
    text = parsing.error_text(answer.body) or answer.text[:200]
    detail = f"{what}: HTTP {answer.status}: {text}"
    if answer.status >= 400:
        folded = text.casefold()
        for words, refusal in _REFUSALS:
            if words in folded:
                return refusal(detail, status=answer.status, server_message=text)
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


def select_regions(regions: Sequence[str]) -> str:
    """The `select` form value of `POST /api/v2/search`: `{'OTName','Attr_30100_3'}` (the REST
    API 2.0.2 spelling). Without it the server answers only the user's default regions."""
    for region in regions:
        if not region or not all(c.isalnum() or c == "_" for c in region):
            raise ValueError(f"not a search region name: {region!r}")
    return "{" + ",".join(f"'{r}'" for r in regions) + "}"


def send_on_form(
    kind: DispositionKind, key: str, comment: str, assignee: str | int | None = None
) -> dict[str, str]:
    """The form of `PUT /api/v2/processes/{p}/subprocesses/{s}/tasks/{t}`.

    Without an assignee: the separate fields the REST API 2.0.2 document lists (`action` or
    `custom_action`, `comment`). With one (Review, SendForReview, Delegate): the document has no
    `assignee` field at all, and pyxecm's `update_process_task` sends it only inside one form
    field `body=<json>` together with the action and comment, which is what we follow. Never a
    flat `assignee` field: nothing documents it, and a server that ignores it sends the step
    nowhere or refuses it."""
    if assignee is None:
        return {kind.value: key, "comment": comment}
    body = {kind.value: key, "assignee": str(assignee), "comment": comment}
    return {"body": json.dumps(body, separators=(",", ":"))}


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
        self._downloader = Downloader(self._transport, self._session)

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

    def user_id(self, login: str, *, budget_s: float | None = None) -> int:
        """The Content Server user id of `login` (what `assignee` takes), read from the user's
        own ticket answer; needs impersonation."""
        actor = self._auth.actor(login)
        if actor.user is None:
            raise EcmRejected(f"cannot look up the id of {who(login)} without OTDS impersonation")
        known = self._auth.user_id(actor)
        if known is None:
            self._auth.ticket(actor, self._transport.deadline(budget_s))
            known = self._auth.user_id(actor)
        if known is None:
            raise EcmProtocolError(f"GET /api/v1/auth named no user id for {who(login)}")
        return known

    def close(self) -> None:
        self._session.close()

    # -- workflow tasks -------------------------------------------------------------------

    def workflow_status(
        self, process_id: str | int, *, budget_s: float | None = None
    ) -> WorkflowStatus:
        """The steps in progress and done, and the initiator; asked as the service account."""
        deadline = self._transport.deadline(budget_s)
        return self._status(integer_id("process_id", process_id), deadline)

    def active_workflows(
        self, *, map_id: int | str | None = None, budget_s: float | None = None
    ) -> list[ActiveWorkflow]:
        """The running workflows the service account manages, optionally of one workflow map
        (what the ECM-side relay polls)."""
        params = {} if map_id is None else {"mapObjId": integer_id("map_id", map_id)}
        answer = self._api(
            "GET",
            "/v2/workflows/status/active",
            Actor(None),
            self._transport.deadline(budget_s),
            params=params,
            what="running workflows",
        )
        return parsing.active_workflows(answer.body)

    def get_task(
        self, ref: TaskRef, *, as_user: str | None = None, budget_s: float | None = None
    ) -> TaskDetails:
        """The task form as `as_user` sees it. Raises `EcmTaskNotOpen` when the step is no longer
        in progress and `EcmNotAssignee` when it is in progress but not in that user's inbox."""
        actor = self._auth.actor(as_user)
        deadline = self._transport.deadline(budget_s)
        try:
            return self._get_task(ref, actor, deadline)
        except (EcmRejected, EcmNotFound, EcmUnavailable) as exc:
            if isinstance(exc, EcmUnavailable) and exc.status != 500:
                raise  # an outage, not a refusal
            explained = self._explain(ref, actor, deadline, exc)
            if explained is exc:
                raise
            raise explained from exc

    def accept_task(
        self, ref: TaskRef, *, as_user: str | None = None, budget_s: float | None = None
    ) -> None:
        """Take a step assigned to a group (`member_accept`) into `as_user`'s own inbox; Content
        Server refuses a send-on of a group step nobody has accepted.

        The answer is `{"results": {"accept": bool}}` (REST API 2.0.2 `mobile_workflows_
        AcceptTask`): a 200 with `accept: false` is a refusal (`EcmNotAssignee`: the step did not
        become this user's, say because another member took it first), never a success."""
        path = (
            f"/v2/mobilegroupassignment/accept/taskid/{ref.task_id}"
            f"/processid/{ref.process_id}/subprocessid/{ref.subprocess_id}"
        )
        actor = self._auth.actor(as_user)
        answer = self._api(
            "POST", path, actor, self._transport.deadline(budget_s), what=f"accept {ref}"
        )
        if not parsing.accepted(answer.body):
            raise EcmNotAssignee(
                f"task {ref}: Content Server did not accept the group step for "
                f"{who(self._auth.name_of(actor))} (accept: false)",
                status=answer.status,
            )

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
        """Send the step on with one standard `action` (SendOn, Review, Delegate, ...) or one
        `custom_action` (a disposition such as Approve), and `comment` for the audit trail.

        `assignee` (a user id) is passed for actions that route to someone (Delegate, Review);
        see `send_on_form` for how it travels.
        A refusal is explained from the workflow status: step still in progress → the refusal
        stands (`EcmNotAssignee` when it is not the user's); no longer in progress →
        `EcmTaskNotOpen` (whether our own earlier attempt closed it is the caller's question:
        `task_activities` holds the comments)."""
        if (action is None) == (custom_action is None):
            raise ValueError("pass exactly one of action or custom_action")
        kind = DispositionKind.ACTION if action is not None else DispositionKind.CUSTOM_ACTION
        key = action if action is not None else custom_action
        assert key is not None
        actor = self._auth.actor(as_user)
        deadline = self._transport.deadline(budget_s)
        form = send_on_form(kind, key, comment, assignee)
        path = (
            f"/v2/processes/{ref.process_id}/subprocesses/{ref.subprocess_id}/tasks/{ref.task_id}"
        )
        try:
            self._api("PUT", path, actor, deadline, data=form, what=f"complete {ref}")
        except (EcmRejected, EcmNotFound, EcmUnavailable) as exc:
            if isinstance(exc, EcmUnavailable) and exc.status not in (500, 504):
                raise
            # A 504 is a lost answer: the update may have happened, the status tells.
            explained = self._explain(ref, actor, deadline, exc)
            if explained is exc:
                raise
            raise explained from exc
        return CompletionResult(ref=ref, kind=kind, key=key, acted_as=self._auth.name_of(actor))

    def task_activities(self, ref: TaskRef, *, budget_s: float | None = None) -> list[Activity]:
        """The workflow's history, as the server lists it; asked as the service account."""
        return self._activities(ref, self._transport.deadline(budget_s))

    # -- nodes and search -----------------------------------------------------------------

    def search(
        self,
        where: str,
        *,
        select: Sequence[str] = (),
        location_id: int | str | Sequence[int | str] | None = None,
        page: int = 1,
        limit: int = 100,
        budget_s: float | None = None,
    ) -> SearchPage:
        """One page of an LQL search (`lookfor=complexquery`), optionally below locations.
        `select` names the regions to answer (category values are `Attr_<cat>_<attr>`);
        without it a hit carries only its properties."""
        if page < 1 or limit < 1:
            raise ValueError("page and limit start at 1")
        form: dict[str, str] = {
            "where": where,
            "lookfor": "complexquery",
            "page": str(page),
            "limit": str(limit),
        }
        if select:
            form["select"] = select_regions(select)
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
        return parsing.search_page(answer.body, regions_expected=bool(select))

    def group_members(
        self,
        group_id: int,
        *,
        member_type: MemberType,
        page: int,
        budget_s: float | None = None,
    ) -> MembersPage:
        """One page of a group's direct users or member groups, as the service account. Asks
        for `MEMBERS_PAGE_LIMIT` a page; the answer's paging says what the server gave."""
        if page < 1:
            raise ValueError("pages start at 1")
        answer = self._api(
            "GET",
            f"/v2/members/{integer_id('group_id', group_id)}/members",
            Actor(None),
            self._transport.deadline(budget_s),
            params={
                "where_type": _WHERE_TYPE[member_type],
                "limit": str(MEMBERS_PAGE_LIMIT),
                "page": str(page),
            },
            what="group members",
        )
        return parsing.members_page(answer.body)

    # -- the user's own inbox and documents, read as that user ------------------------------

    def assignments(self, as_user: str, *, budget_s: float | None = None) -> list[Assignment]:
        """The workflow steps in `as_user`'s inbox, as Content Server lists them to that user
        (with who sent each, expanded). `EcmImpersonationOff` without OTDS impersonation."""
        answer = self._api(
            "GET",
            "/v2/members/assignments",
            self._user(as_user),
            self._transport.deadline(budget_s),
            params={"expand": "assignments{from_user_id}"},
            what="assignments",
        )
        return parsing.assignments(answer.body)

    def node(self, node_id: int | str, *, as_user: str, budget_s: float | None = None) -> NodeInfo:
        """A node's properties as `as_user` sees them: `EcmForbidden` when the node exists but
        Content Server hides it from that user, `EcmNotFound` when it does not exist."""
        return self._node(integer_id("node_id", node_id), self._user(as_user), budget_s)

    def node_content(
        self, node_id: int | str, *, as_user: str, limit: int, budget_s: float | None = None
    ) -> NodeContent:
        """The document's latest version as `as_user` may read it, at most `limit` bytes
        (`EcmContentTooLarge` above, read no further). A node the user sees but may not open
        (no See Contents) is `EcmForbidden`."""
        actor = self._user(as_user)
        deadline = self._transport.deadline(budget_s)
        wire_id = integer_id("node_id", node_id)
        info = self._node(wire_id, actor, None, deadline)
        if info.size is not None and info.size > limit:
            raise EcmContentTooLarge(
                f"node {wire_id} has {info.size} bytes", size=info.size, limit=limit
            )
        download = self._download(f"/v2/nodes/{wire_id}/content", actor, deadline, limit)
        if not download.ok:
            answer = Answer(download.status, download.headers, download.body, "")
            failure = _failure(answer, f"content of node {wire_id}")
            if isinstance(failure, EcmNotFound | EcmRejected):
                # The user sees the node (its properties answered) but not its content.
                raise EcmForbidden(
                    f"content of node {wire_id} refused to {who(actor.user)}",
                    status=download.status,
                    server_message=failure.server_message,
                )
            raise failure
        if download.truncated:
            raise EcmContentTooLarge(
                f"node {wire_id} has more than {limit} bytes", size=None, limit=limit
            )
        declared = download.headers.get("Content-Type", "").split(";", 1)[0].strip()
        return NodeContent(
            node_id=int(wire_id),
            mime_type=declared or info.mime_type or "application/octet-stream",
            data=download.data,
            file_name=info.name,
        )

    # -- internals ------------------------------------------------------------------------

    def _user(self, as_user: str) -> Actor:
        actor = self._auth.actor(as_user)
        if actor.user is None:
            raise EcmImpersonationOff(
                "reading a user's inbox or documents needs OTDS impersonation (act_as_user)"
            )
        return actor

    def _node(
        self,
        wire_id: str,
        actor: Actor,
        budget_s: float | None,
        deadline: Deadline | None = None,
    ) -> NodeInfo:
        deadline = deadline or self._transport.deadline(budget_s)
        try:
            answer = self._api(
                "GET",
                f"/v2/nodes/{wire_id}",
                actor,
                deadline,
                params={"fields": "properties"},
                what=f"node {wire_id}",
            )
        except EcmNotFound as exc:
            if actor.user is None:
                raise
            # Content Server answers a node the user may not see like an unknown one: the
            # service account says which it is (docs/design/approver-api.md).
            self._node(wire_id, Actor(None), None, deadline)
            raise EcmForbidden(
                f"node {wire_id} is not visible to {who(actor.user)}",
                status=exc.status,
                server_message=exc.server_message,
            ) from exc
        return parsing.node_info(answer.body)

    def _download(self, path: str, actor: Actor, deadline: Deadline, limit: int) -> Download:
        """`_api` for content: one re-authentication on 401."""
        url = f"{self._config.api_url}{path}"
        for attempt in (1, 2):
            ticket = self._auth.ticket(actor, deadline)
            download = self._downloader.get(
                url, deadline=deadline, headers={"OTCSTicket": ticket}, limit=limit
            )
            if download.status != 401:
                self._auth.refreshed(actor, ticket, download.headers.get("OTCSTicket"))
                return download
            self._auth.invalidate(actor, ticket)
            if attempt == 2:
                raise EcmAuthError(f"{path}: a fresh ticket was refused too", status=401)
        raise AssertionError("unreachable")

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
            self._auth.refreshed(actor, ticket, answer.headers.get("OTCSTicket"))
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

    def _status(self, process_id: str, deadline: Deadline) -> WorkflowStatus:
        answer = self._api(
            "GET",
            f"/v2/workflows/status/processes/{process_id}",
            Actor(None),
            deadline,
            what=f"status of workflow {process_id}",
        )
        return parsing.workflow_status(answer.body, process_id)

    def _activities(self, ref: TaskRef, deadline: Deadline) -> list[Activity]:
        answer = self._api(
            "GET",
            f"/v2/processes/{ref.process_id}/subprocesses/{ref.subprocess_id}/activities",
            Actor(None),
            deadline,
            what=f"activities of {ref}",
        )
        return parsing.activities(answer.body)

    def _explain(
        self, ref: TaskRef, actor: Actor, deadline: Deadline, refusal: EcmError
    ) -> EcmError:
        """What a refused step call means, from the workflow status: not in progress →
        `EcmTaskNotOpen`; in progress but not the actor's → `EcmNotAssignee`; otherwise the
        refusal itself. A workflow the status does not know is `EcmNotFound`."""
        try:
            status = self._status(ref.process_id, deadline)
        except EcmNotFound:
            return EcmNotFound(f"workflow of task {ref} not found", status=404)
        step = status.current_step(ref)
        message = refusal.server_message or str(refusal)
        if step is None:
            return EcmTaskNotOpen(
                f"task {ref} is no longer in progress: {message}",
                status=refusal.status,
                server_message=refusal.server_message,
            )
        name = self._auth.name_of(actor)
        if step.assignees and not step.assigned_to(name):
            return EcmNotAssignee(
                f"task {ref} is in progress but not in {name}'s inbox: {message}",
                status=refusal.status,
                server_message=refusal.server_message,
            )
        return refusal
