"""Workflow steps in the Content Server stand-in: the task form, the send-on (`PUT .../tasks/{t}`),
a group step's accept, the workflow status, the active workflows and the activities.

Strict where the real server is: only the user whose inbox holds a step (its assignee, or a
member of its group) may open its form or send it on, nobody else, the service account
included; a finished or invisible step's form answers 500 "Could not get a workflow for p, s,
t"; status and history answer workflow managers, the initiator and the step's assignees;
Review/SendForReview/Delegate need an `assignee`, which only pyxecm's `body=<json>` carries; a
step with `authentication` needs `authentication_info`; a group step is accepted before it is
sent on. Statuses and texts are the REST API 2.0.2 document's (docs/ecm.md, the routes table)."""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from devstack.ecm_auth import Sessions
from devstack.ecm_model import Task, User
from devstack.ecm_wire import Answer, error, json_response, self_link, utc_now

BOTH_ACTIONS_ERROR = "It is not allowed to execute an action and a custom action"
CLOSED_TASK_ERROR = "The task is not available. It may have been completed by another user."
NO_WORKFLOW_ERROR = "Could not get a workflow for {p}, {s}, {t}"  # REST API 2.0.2, task form 500
NO_STATUS_ERROR = "Could not access task status"  # REST API 2.0.2, status/accept 400
BAD_LOGIN_ERROR = "Invalid username/password specified"  # REST API 2.0.2, send-on 400
ROUTED_ACTIONS = frozenset({"SendForReview", "Review", "Delegate"})
FORM_UPDATE = ("action", "formUpdate")
# The send-on's form fields as the REST API 2.0.2 document lists them (`sendProcess`), and the
# keys pyxecm's `update_process_task` puts into its single `body=<json>` field.
SEND_ON_FIELDS = frozenset({"action", "custom_action", "comment", "authentication_info"})
SEND_ON_BODY_KEYS = SEND_ON_FIELDS | {"assignee", "values"}
LOST_RESPONSE_HTML = "<html><body><h1>504 Gateway Time-out</h1></body></html>"

_STEP = "/api/v2/processes/<int(signed=True):p>/subprocesses/<int(signed=True):s>"
ROUTES = [
    Rule("/api/v1/forms/processes/tasks/update", endpoint="task_form", methods=["GET"]),
    Rule(f"{_STEP}/tasks/<int(signed=True):t>", endpoint="task_update", methods=["PUT"]),
    Rule(f"{_STEP}/activities", endpoint="activities", methods=["GET"]),
    Rule("/api/v2/workflows/status/active", endpoint="active_workflows", methods=["GET"]),
    Rule(
        "/api/v2/workflows/status/processes/<int(signed=True):p>",
        endpoint="workflow_status",
        methods=["GET"],
    ),
    Rule(
        "/api/v2/mobilegroupassignment/accept/taskid/<int(signed=True):t>"
        "/processid/<int(signed=True):p>/subprocessid/<int(signed=True):s>",
        endpoint="accept",
        methods=["POST"],
    ),
    Rule("/api/v2/members/assignments", endpoint="assignments", methods=["GET"]),
]

_PRIORITY_NAMES = {"low": (0, "Low"), "normal": (1, "Medium"), "high": (2, "High")}


def _chosen_action(fields: dict[str, str]) -> tuple[str, str]:
    """(`action` or `custom_action`, its key): exactly one of the two is given."""
    action = fields.get("action") or None
    custom = fields.get("custom_action") or None
    if action and custom:
        raise error(400, BOTH_ACTIONS_ERROR)
    if custom:
        return "custom_action", custom
    if action:
        return "action", action
    raise error(400, "An action or a custom action is required.")


def _offered(task: Task, kind: str, key: str) -> dict[str, str]:
    """The step's option for `key` among its actions or custom actions; 400 if it has none."""
    offered = task.custom_actions if kind == "custom_action" else task.actions
    option = next((o for o in offered if o["key"] == key), None)
    if option is None:
        label = "custom action" if kind == "custom_action" else "action"
        raise error(400, f"The {label} '{key}' is not available for this task.")
    return option


class WorkflowRoutes(Sessions):
    """The workflow routes; every answer is for the ticket's user."""

    def _find_task(self, p: Any, s: Any, t: Any, *, unknown: tuple[int, str] | None = None) -> Task:
        """The step, or the route's answer for one that does not exist: `unknown` (status,
        text) where the REST API 2.0.2 document names one, else 404."""
        try:
            key = (int(p), int(s), int(t))
        except (TypeError, ValueError):
            raise error(400, "process_id, subprocess_id and task_id must be integers") from None
        with self._lock:
            task = self.tasks.get(key)
        if task is None:
            if unknown is not None:
                raise error(unknown[0], unknown[1].format(p=key[0], s=key[1], t=key[2]))
            raise error(404, f"Could not find the workflow task {key[0]}/{key[1]}/{key[2]}.")
        return task

    def _h_assignments(self, request: Request, entry: dict[str, Any]) -> Response:
        """The steps in the ticket user's inbox (`members_V2ResponseAssignments`: `results[]`
        of `data[]` of `assignments[]`), open ones only; `expand=assignments{from_user_id}`
        puts the sender's member record in place of its id."""
        user = self._ticket_user(request, entry)
        expand = "from_user_id" in " ".join(request.args.getlist("expand"))
        with self._lock:
            held = sorted(
                (t for t in self.tasks.values() if self._holds(user, t)), key=lambda t: t.key
            )
            rows = [self._assignment(t, expand=expand) for t in held]
        link = {"body": "", "content_type": "", "href": "/api/v2/members/assignments"}
        return json_response(
            {
                # `members_V2Links`: lists all the way down, as the document has them.
                "links": [{"data": [{"self": [{**link, "method": "GET", "name": ""}]}]}],
                "results": [{"data": [{"assignments": rows}]}],
            }
        )

    def _assignment(self, task: Task, *, expand: bool) -> dict[str, Any]:
        sender = self.users.get(task.initiator)
        sender_id = sender.id if sender else None
        priority, priority_name = _PRIORITY_NAMES.get(task.priority or "normal", (1, "Medium"))
        node = self.nodes.get(task.document_node_id) if task.document_node_id else None
        return {
            "container": False,
            "container_size": 0,
            "date_due": task.due_date or "",
            "description": "",
            "favorite": False,
            "followup_id": 0,
            "from_user_id": sender.as_member() if expand and sender else sender_id,
            "id": task.process_id * 1000 + task.task_id,
            "instructions": task.instructions,
            "location_id": node.parent_id if node else 0,
            "name": task.title,
            "priority": priority,
            "priority_name": priority_name,
            "smartViewAttachmentsView": False,
            "status": 0,
            "status_name": "Ready",
            "type": 153,
            "type_name": "Workflow",
            "workflow_id": task.process_id,
            "workflow_open_in_smart_ui": True,
            "workflow_subworkflow_id": task.subprocess_id,
            "workflow_subworkflow_task_id": task.task_id,
            "maptask_subtype": 0,
        }

    @staticmethod
    def _holds(user: User, task: Task) -> bool:
        """Only the user whose inbox holds an open step may open or send it on."""
        return task.is_open and user.login in task.holders()

    def _may_see(self, user: User, process_id: int) -> bool:
        """Status and history: workflow managers ("see details"), the initiator, and whoever a
        step of the workflow is or was assigned to."""
        if user.workflow_manager:
            return True
        steps = [t for key, t in self.tasks.items() if key[0] == process_id]
        return any(
            user.login in (t.initiator, t.assignee, t.acted_by) or user.login in t.group
            for t in steps
        )

    def _h_task_form(self, request: Request, entry: dict[str, Any]) -> Response:
        user = self._ticket_user(request, entry)
        args = request.args
        task = self._find_task(
            args.get("process_id"),
            args.get("subprocess_id"),
            args.get("task_id"),
            unknown=(500, NO_WORKFLOW_ERROR),
        )
        with self._lock:
            if not self._holds(user, task):
                # Finished, or not in this user's inbox: the real server cannot load it.
                raise error(
                    500,
                    NO_WORKFLOW_ERROR.format(
                        p=task.process_id, s=task.subprocess_id, t=task.task_id
                    ),
                )
            data = {
                "actions": copy.deepcopy(task.actions),
                "custom_actions": copy.deepcopy(task.custom_actions),
                "attachments_on": True,
                "authentication": task.authentication,
                "comments_on": task.comments_on,
                "member_accept": task.member_accept,
                "data_packages": [
                    {
                        "data": {"attachment_folder_id": 90000 + task.process_id},
                        "sub_type": 1,
                        "type": 1,
                    }
                ],
                "instructions": task.instructions,
                "message": None,
                "process_id": task.process_id,
                "subprocess_id": task.subprocess_id,
                "task_id": task.task_id,
                "title": task.title,
                "task": {},  # pyxecm elides it; nothing of it is relied upon
            }
        return json_response({"data": data, "forms": [{"data": {}, "options": {}, "schema": {}}]})

    @staticmethod
    def _update_fields(request: Request) -> dict[str, str]:
        """The REST API 2.0.2 document's separate form fields (`action`, `custom_action`,
        `comment`, `authentication_info`), or pyxecm's single field `body=<json>`, which alone
        carries `assignee` and `values`. Neither source knows a flat `assignee` (a real server
        would ignore it and send the step nowhere): refused, like any field of neither, and a
        `body` mixed with separate fields."""
        names = set(request.form)
        if "body" in names:
            if names != {"body"}:
                extra = ", ".join(sorted(names - {"body"}))
                raise error(400, f"Send either body=<json> or separate fields, not both ({extra}).")
            try:
                parsed = json.loads(request.form["body"])
            except ValueError:
                raise error(400, "The body parameter is not valid JSON.") from None
            if not isinstance(parsed, dict):
                raise error(400, "The body parameter must be a JSON object.")
            unknown = sorted(set(parsed) - SEND_ON_BODY_KEYS)
            if unknown:
                raise error(400, f"Unknown parameter(s) in body: {', '.join(unknown)}.")
            return {k: v if isinstance(v, str) else json.dumps(v) for k, v in parsed.items()}
        unknown = sorted(names - SEND_ON_FIELDS)
        if unknown:
            raise error(
                400,
                f"Unknown parameter(s): {', '.join(unknown)}. The form fields are "
                f"{', '.join(sorted(SEND_ON_FIELDS))}; an assignee goes inside body=<json>.",
            )
        return {k: request.form[k] for k in request.form}

    def _h_task_update(
        self, request: Request, entry: dict[str, Any], p: int, s: int, t: int
    ) -> Response:
        """Send a step on as the user whose inbox holds it, or save its form (`formUpdate`)."""
        user = self._ticket_user(request, entry)
        task = self._find_task(p, s, t)
        fields = self._update_fields(request)
        kind, key = _chosen_action(fields)
        with self._lock:
            self._check_send_on(user, task, fields, form_update=(kind, key) == FORM_UPDATE)
            if (kind, key) == FORM_UPDATE:
                values = json.loads(fields.get("values", "{}") or "{}")
                task.form_values.update(values if isinstance(values, dict) else {})
                return self._update_ok(p, s, t)
            self._apply(task, user, kind, _offered(task, kind, key), fields)
            if self.faults.lose_response > 0:
                self.faults.lose_response -= 1
                raise Answer(Response(LOST_RESPONSE_HTML, status=504, mimetype="text/html"))
        return self._update_ok(p, s, t)

    def _check_send_on(
        self, user: User, task: Task, fields: dict[str, str], *, form_update: bool
    ) -> None:
        """What a real server refuses before it looks at the action, in its order: a finished
        step, a step not in this user's inbox, a group step nobody accepted, and (except for a
        form save) a step with `authentication` without the user's credentials."""
        if not task.is_open:
            raise error(self.faults.closed_task_status, CLOSED_TASK_ERROR)
        if not self._holds(user, task):
            raise error(
                500,
                NO_WORKFLOW_ERROR.format(p=task.process_id, s=task.subprocess_id, t=task.task_id),
            )
        if task.member_accept and task.group:
            raise error(400, "This group assignment must be accepted before it is sent on.")
        if not form_update and task.authentication:
            self._check_authentication(user, fields.get("authentication_info"))

    def _apply(
        self, task: Task, user: User, kind: str, option: dict[str, str], fields: dict[str, str]
    ) -> None:
        now = utc_now()
        key = option["key"]
        target: str | None = None
        if kind == "action" and key in ROUTED_ACTIONS:
            target = self._user_ref(fields.get("assignee") or None)
            if target is None:
                raise error(400, f"The action '{key}' needs an assignee that is a known user.")
        if kind == "action" and key == "Delegate":
            task.assignee = target or task.assignee
        elif kind == "action" and key in ROUTED_ACTIONS:
            task.status = "sent_for_review"
            task.review_assignee = target
        else:
            task.status = "completed"
        if task.status != "open":
            task.completed_at = now
        task.disposition = {"kind": kind, "key": key, "label": option.get("label", key)}
        task.acted_by = user.login
        comment = fields.get("comment", "") if task.comments_on else ""
        task.comments.append(
            {
                "user": user.login,
                "action": key,
                "kind": kind,
                "label": option.get("label", key),
                "target": target,
                "comment": comment,
                "date": now,
            }
        )

    @staticmethod
    def _check_authentication(user: User, info: str | None) -> None:
        """A step with `authentication` is sent on only with `authentication_info` naming the
        acting user's credentials; without it a real server answers 400 (REST API 2.0.2 lists
        "Invalid username/password specified"). Its format is undocumented: the stand-in takes
        a JSON object `{"username", "password"}` (to confirm on a real server)."""
        try:
            given = json.loads(info or "")
        except ValueError:
            given = None
        if not (
            isinstance(given, dict)
            and given.get("username") == user.login
            and isinstance(given.get("password"), str)
            and secrets.compare_digest(given["password"], user.password)
        ):
            raise error(400, BAD_LOGIN_ERROR)

    def _user_ref(self, value: str | None) -> str | None:
        """An assignee given as login or numeric user id, as a login."""
        if not value:
            return None
        if value in self.users:
            return value
        return next((u.login for u in self.users.values() if str(u.id) == value), None)

    @staticmethod
    def _update_ok(p: int, s: int, t: int) -> Response:
        href = f"/api/v2/processes/{p}/subprocesses/{s}/tasks/{t}"
        return json_response({"links": self_link(href, "PUT"), "results": {}})

    def _h_activities(self, request: Request, entry: dict[str, Any], p: int, s: int) -> Response:
        """`results.data[]` of `{action, action_properties{label, event, user_id}, comment,
        date, user_id}` (REST API 2.0.2 `processes_WorkflowActivitiesInfo`): no task id."""
        user = self._ticket_user(request, entry)
        with self._lock:
            tasks = [task for key, task in sorted(self.tasks.items()) if key[:2] == (p, s)]
            if not tasks or not self._may_see(user, p):  # as the workflow status
                raise error(400, NO_STATUS_ERROR)
            rows = []
            for task in tasks:
                for c in task.comments:
                    actor = self.users.get(c["user"])
                    target = self.users.get(c.get("target") or "")
                    props: dict[str, Any] = {
                        "label": c.get("label", c["action"]),
                        "event": "disposition" if c.get("kind") == "custom_action" else "action",
                    }
                    if target is not None:
                        props["user_id"] = target.id
                    rows.append(
                        {
                            "action": c["action"],
                            "action_properties": props,
                            "comment": c["comment"],
                            "date": c["date"],
                            "user_id": actor.id if actor else None,
                        }
                    )
        rows.sort(key=lambda r: r["date"])
        href = f"/api/v2/processes/{p}/subprocesses/{s}/activities"
        return json_response({"links": self_link(href, "GET"), "results": {"data": rows}})

    def _member(self, login: str) -> dict[str, Any]:
        user = self.users.get(login)
        return {
            "userId": user.id if user else None,
            "loginName": login,
            "firstName": user.first_name if user else "",
            "lastName": user.last_name if user else "",
            "emailAddress": user.email if user else "",
            "phone": "",
        }

    def _step(self, task: Task) -> dict[str, Any]:
        holders = task.holders() if task.is_open else [task.acted_by or task.assignee]
        return {
            "process_id": task.process_id,
            "subprocess_id": task.subprocess_id,
            "task_id": task.task_id,
            "task_name": task.title,
            "task_due_date": task.due_date or "",
            "task_start_date": "2026-11-20T09:00:00",
            "task_status": "ontime" if task.is_open else "completed",
            "task_assignees": {
                "assignee": [self._member(login) for login in holders],
                "assigneeCount": len(holders),
                "currentAssignee": " ",
            },
        }

    def _h_workflow_status(self, request: Request, entry: dict[str, Any], p: int) -> Response:
        """The shape of pyxecm's `get_workflow_status` example (REST API 2.0.2
        `workflow_Process_TaskListInfo`)."""
        user = self._ticket_user(request, entry)
        with self._lock:
            tasks = [task for key, task in sorted(self.tasks.items()) if key[0] == p]
            if not tasks or not self._may_see(user, p):
                # REST API 2.0.2: no such process and no right to see it answer alike.
                raise error(400, NO_STATUS_ERROR)
            first = tasks[0]
            any_open = any(t.is_open for t in tasks)
            body = {
                "attachments": {"attachment_folder_id": 90000 + p},
                "data_packages": [
                    {"TYPE": 1, "SUBTYPE": 1, "USERDATA": 90000 + p, "DESCRIPTION": ""}
                ],
                "permissions": dict.fromkeys(
                    (
                        "Archive",
                        "ChangeAttr",
                        "ChangeRoute",
                        "Delete",
                        "ManagerPerms",
                        "SeeDetail",
                        "Stop",
                        "Suspend",
                    ),
                    user.workflow_manager,
                ),
                "step_list": {
                    "completed": [self._step(t) for t in tasks if not t.is_open],
                    "current": [self._step(t) for t in tasks if t.is_open],
                    "next": [],
                },
                "wf_details": {
                    "date_initiated": "2026-11-20T09:00:00",
                    "due_date": "",
                    "initiator": {
                        k: v
                        for k, v in self._member(first.initiator).items()
                        if k in ("firstName", "lastName", "loginName", "userId")
                    },
                    "status": "ontime" if any_open else "completed",
                    "wf_name": first.title,
                    "work_workID": p,
                },
            }
        href = f"/api/v2/workflows/status/processes/{p}"
        return json_response({"links": self_link(href, "GET"), "results": body})

    def _h_active_workflows(self, request: Request, entry: dict[str, Any]) -> Response:
        """Running (sub)processes with an open step, for workflow managers (others manage none
        here), optionally of one map (`mapObjId`)."""
        user = self._ticket_user(request, entry)
        wanted = request.args.get("mapObjId")
        if wanted is not None and not wanted.lstrip("-").isdigit():
            raise error(400, "Invalid datatype specified for argument 'mapObjId'")
        rows: dict[tuple[int, int], dict[str, Any]] = {}
        with self._lock:
            for task in sorted(self.tasks.values(), key=lambda t: t.key):
                if not (user.workflow_manager and task.is_open):
                    continue
                if wanted is not None and task.map_id != int(wanted):
                    continue
                rows.setdefault(
                    (task.process_id, task.subprocess_id),
                    {
                        "Work_WorkID": task.process_id,
                        "Work_Status": 0,
                        "Work_OwnerID": 1000,
                        "Work_ManagerID": 1000,
                        "Work_DateDue_Max": task.due_date or "",
                        "SubWork_SubWorkID": task.subprocess_id,
                        "SubWork_DateInitiated": "2026-11-20T09:00:00",
                        "SubWork_DateDue_Max": task.due_date or "",
                        "SubWork_Title": task.title,
                        "SubWork_Status": 0,
                        "Map_MapID": task.map_id,
                        "Map_MapObjID": task.map_id,
                        "comments_on": int(task.comments_on),
                    },
                )
        return json_response({"links": [], "results": list(rows.values())})

    def _h_accept(
        self, request: Request, entry: dict[str, Any], t: int, p: int, s: int
    ) -> Response:
        """Accept a group step into the caller's own inbox (`member_accept`). The answer is
        REST API 2.0.2 `mobile_workflows_AcceptTask`, `{"results": {"accept": bool}}`: false for
        a member of the group when another member took the step first (the stand-in's reading,
        to confirm on a real server); 400 "Could not access task status" for anyone else."""
        user = self._ticket_user(request, entry)
        task = self._find_task(p, s, t, unknown=(400, NO_STATUS_ERROR))
        with self._lock:
            if task.is_open and user.login in task.group and not task.member_accept:
                # Already accepted: by this member (a repeat) or by another one first.
                return json_response({"results": {"accept": task.assignee == user.login}})
            if not task.is_open or user.login not in task.holders():
                raise error(400, NO_STATUS_ERROR)
            if not (task.member_accept and task.group):
                raise error(400, "This task is not a group assignment.")
            task.assignee = user.login
            task.member_accept = False
        return json_response({"results": {"accept": True}})
