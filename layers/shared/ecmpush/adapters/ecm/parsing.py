"""Turn Content Server JSON into the client's value objects, refusing shapes it does not know.

Every function takes the already-decoded JSON (`Any`) and raises `EcmProtocolError` naming the
path that was missing or of the wrong type, so a server upgrade that moves a field shows up as a
clear message rather than a KeyError deep in a Lambda.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ecmpush.domain.ecm.errors import EcmProtocolError
from ecmpush.domain.ecm.model import (
    ActiveWorkflow,
    Activity,
    Assignment,
    Member,
    MembersPage,
    NodeInfo,
    SearchPage,
    SearchRow,
    TaskDetails,
    WorkflowStatus,
    WorkflowStep,
)
from ecmpush.domain.ecm.task_ref import TASK_ID_FIELDS, TaskRef
from ecmpush.domain.replies.dispositions import ActionOption


def _obj(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise EcmProtocolError(f"expected an object at {path}, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise EcmProtocolError(f"expected a list at {path}, got {type(value).__name__}")
    return value


def _int(value: Any, path: str) -> int:
    if isinstance(value, bool):
        raise EcmProtocolError(f"expected an integer at {path}, got a boolean")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise EcmProtocolError(f"expected an integer at {path}, got {value!r}") from None


def _task_ref(entry: Mapping[str, Any], path: str) -> TaskRef:
    ids = {name: _int(entry.get(name), f"{path}.{name}") for name in TASK_ID_FIELDS}
    try:
        return TaskRef.model_validate(ids)
    except ValueError:
        raise EcmProtocolError(f"expected Content Server ids at {path}, got {ids}") from None


def _opt_int(value: Any, path: str) -> int | None:
    return None if value is None or value == "" else _int(value, path)


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise EcmProtocolError(f"expected a string at {path}, got {type(value).__name__}")
    return value


def _options(value: Any, path: str) -> tuple[ActionOption, ...]:
    if value is None:
        return ()
    out: list[ActionOption] = []
    for i, item in enumerate(_list(value, path)):
        entry = _obj(item, f"{path}[{i}]")
        key = _str(entry.get("key"), f"{path}[{i}].key")
        label = entry.get("label")
        out.append(ActionOption(key=key, label=label if isinstance(label, str) else key))
    return tuple(out)


def error_text(body: Any) -> str | None:
    """The `error` text Content Server puts into failed answers (`{"error": ..., ...}`)."""
    if isinstance(body, Mapping):
        for key in ("error", "errorDetail", "error_description", "message"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def task_details(body: Any, ref: TaskRef) -> TaskDetails:
    """`{"data": {actions, custom_actions, title, instructions, comments_on, ...}, "forms": []}`."""
    data = _obj(_obj(body, "$").get("data"), "$.data")
    if "actions" not in data:
        raise EcmProtocolError("task form has no $.data.actions")
    message = data.get("message")
    return TaskDetails(
        ref=ref,
        title=str(data.get("title") or ""),
        instructions=str(data.get("instructions") or ""),
        actions=_options(data.get("actions"), "$.data.actions"),
        custom_actions=_options(data.get("custom_actions"), "$.data.custom_actions"),
        comments_on=bool(data.get("comments_on", True)),
        member_accept=bool(data.get("member_accept", False)),
        authentication=bool(data.get("authentication", False)),
        message=message if isinstance(message, str) else None,
        raw=data,
    )


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def activities(body: Any) -> list[Activity]:
    """`{"results": {"data": [{action, action_properties{label, event}, comment, date,
    user_id}, ...]}}` (REST API 2.0.2, `processes_WorkflowActivitiesResults`)."""
    results = _obj(_obj(body, "$").get("results"), "$.results")
    out: list[Activity] = []
    for i, item in enumerate(_list(results.get("data"), "$.results.data")):
        path = f"$.results.data[{i}]"
        entry = _obj(item, path)
        props = entry.get("action_properties")
        props = props if isinstance(props, Mapping) else {}
        out.append(
            Activity(
                action=str(entry.get("action") or ""),
                comment=str(entry.get("comment") or ""),
                date=str(entry.get("date") or ""),
                user_id=_opt_int(entry.get("user_id"), f"{path}.user_id"),
                label=_opt_str(props.get("label")),
                event=_opt_str(props.get("event")),
                raw=entry,
            )
        )
    return out


def _member(value: Any, path: str) -> Member:
    entry = _obj(value, path)
    return Member(
        user_id=_opt_int(entry.get("userId"), f"{path}.userId"),
        login=_str(entry.get("loginName"), f"{path}.loginName"),
    )


def _steps(value: Any, path: str) -> tuple[WorkflowStep, ...]:
    if value is None:
        return ()
    steps: list[WorkflowStep] = []
    for i, item in enumerate(_list(value, path)):
        at = f"{path}[{i}]"
        entry = _obj(item, at)
        assignees_block = entry.get("task_assignees")
        members: tuple[Member, ...] = ()
        if isinstance(assignees_block, Mapping):
            raw = assignees_block.get("assignee") or []
            members = tuple(
                _member(m, f"{at}.task_assignees.assignee[{j}]")
                for j, m in enumerate(_list(raw, f"{at}.task_assignees.assignee"))
            )
        steps.append(
            WorkflowStep(
                ref=_task_ref(entry, at),
                name=str(entry.get("task_name") or ""),
                status=str(entry.get("task_status") or ""),
                assignees=members,
                due_date=str(entry.get("task_due_date") or ""),
            )
        )
    return tuple(steps)


def accepted(body: Any) -> bool:
    """`POST /api/v2/mobilegroupassignment/accept/...`: `{"results": {"accept": bool}}` (REST API
    2.0.2 `mobile_workflows_AcceptTask`). Anything but a boolean there is not an answer we can
    act on: the step may or may not be ours."""
    results = _obj(_obj(body, "$").get("results"), "$.results")
    accept = results.get("accept")
    if not isinstance(accept, bool):
        raise EcmProtocolError(
            f"expected a boolean at $.results.accept, got {type(accept).__name__}"
        )
    return accept


def active_workflows(body: Any) -> list[ActiveWorkflow]:
    """`{"results": ...}` of running workflows. The REST API 2.0.2 document types `results` as
    one object (`worflow_active_result` → `workflow_active_properties`: one row); the otcs-mcp
    TS client reads a list of such rows. Both are read: a list row by row, an object as the one
    row it is (an empty object or null as none)."""
    results = _obj(body, "$").get("results")
    if results is None or (isinstance(results, Mapping) and not results):
        return []
    if isinstance(results, Mapping):
        indexed: list[tuple[str, Any]] = [("$.results", results)]
    else:
        rows = _list(results, "$.results")
        indexed = [(f"$.results[{i}]", item) for i, item in enumerate(rows)]
    out: list[ActiveWorkflow] = []
    for path, item in indexed:
        row = _obj(item, path)
        out.append(
            ActiveWorkflow(
                process_id=str(_int(row.get("Work_WorkID"), f"{path}.Work_WorkID")),
                subprocess_id=str(_int(row.get("SubWork_SubWorkID"), f"{path}.SubWork_SubWorkID")),
                title=str(row.get("SubWork_Title") or ""),
                map_id=_opt_int(row.get("Map_MapObjID"), f"{path}.Map_MapObjID"),
            )
        )
    return out


def workflow_status(body: Any, process_id: str) -> WorkflowStatus:
    """`{"results": {"step_list": {completed, current, next}, "wf_details": {initiator{userId,
    loginName, ...}, status, ...}, ...}}` (pyxecm `get_workflow_status`; REST API 2.0.2
    `workflow_Process_TaskListInfo`)."""
    results = _obj(_obj(body, "$").get("results"), "$.results")
    step_list = _obj(results.get("step_list"), "$.results.step_list")
    details = results.get("wf_details")
    details = details if isinstance(details, Mapping) else {}
    initiator = details.get("initiator")
    return WorkflowStatus(
        process_id=process_id,
        status=str(details.get("status") or ""),
        initiator=(
            _member(initiator, "$.results.wf_details.initiator")
            if isinstance(initiator, Mapping) and initiator.get("loginName")
            else None
        ),
        current=_steps(step_list.get("current"), "$.results.step_list.current"),
        completed=_steps(step_list.get("completed"), "$.results.step_list.completed"),
    )


def _categories(data: Mapping[str, Any]) -> dict[str, Any]:
    """Flatten `fields=categories` (a list of `{"<cat>_<attr>": value}` objects) into one dict."""
    flat: dict[str, Any] = {}
    raw = data.get("categories")
    if isinstance(raw, list):
        for block in raw:
            if isinstance(block, Mapping):
                flat.update({str(k): v for k, v in block.items()})
    return flat


def _regions(value: Any, path: str, *, expected: bool) -> dict[str, Any]:
    """A hit's `regions`: the values of the regions `select` named. The REST API 2.0.2 document
    types it as a string and says its structure "will change depending on the regions used";
    the only shape anything public shows is an object of region → value. An object is read as
    it is, a string holding a JSON object likewise; anything else (or nothing, when `select`
    asked for regions) is an `EcmProtocolError`: read as "no values", every hit of the expiry
    search would be skipped without a word."""
    if value is None:
        if expected:
            raise EcmProtocolError(f"no {path}, though the search named regions in select")
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise EcmProtocolError(
                f"expected an object of region values at {path}, got a string that is not "
                f"JSON: {value[:80]!r}"
            ) from None
    return dict(_obj(value, path))


def _search_row(item: Any, i: int, *, regions_expected: bool = False) -> SearchRow:
    base = f"$.results[{i}]"
    data = _obj(_obj(item, base).get("data"), f"{base}.data")
    props = _obj(data.get("properties"), f"{base}.data.properties")
    regions = _regions(data.get("regions"), f"{base}.data.regions", expected=regions_expected)
    categories = _categories(data)
    for name, value in regions.items():
        # Category attributes are search regions named Attr_<catId>_<attrId>.
        if name.startswith("Attr_") and not name.endswith("_formatted"):
            categories.setdefault(name[len("Attr_") :], value)
    return SearchRow(
        id=_int(props.get("id"), f"{base}.data.properties.id"),
        name=_str(props.get("name"), f"{base}.data.properties.name"),
        type=_int(props.get("type"), f"{base}.data.properties.type"),
        parent_id=_opt_int(props.get("parent_id"), f"{base}.data.properties.parent_id"),
        categories=categories,
        regions=regions,
        properties=props,
    )


def _paging(root: Mapping[str, Any]) -> dict[str, int]:
    """`collection.paging` of a paged answer: page, limit, total_count, page_total."""
    path = "$.collection.paging"
    paging = _obj(_obj(root.get("collection"), "$.collection").get("paging"), path)
    return {
        "page": _int(paging.get("page"), f"{path}.page"),
        "limit": _int(paging.get("limit"), f"{path}.limit"),
        "total_count": _int(paging.get("total_count"), f"{path}.total_count"),
        "page_total": _int(paging.get("page_total", 0), f"{path}.page_total"),
    }


def search_page(body: Any, *, regions_expected: bool = False) -> SearchPage:
    """`{"collection": {"paging": {page, limit, total_count, page_total}}, "results": [...]}`;
    `regions_expected` when the request's `select` named regions (each hit must carry them)."""
    root = _obj(body, "$")
    rows = tuple(
        _search_row(item, i, regions_expected=regions_expected)
        for i, item in enumerate(_list(root.get("results"), "$.results"))
    )
    return SearchPage(rows=rows, **_paging(root))


def members_page(body: Any) -> MembersPage:
    """`GET /api/v2/members/{id}/members`: the search's paging, and `results[].data.properties`
    of users (`type` 0, by login `name`) and groups (`type` 1, by `id`); other member types
    are not people and are left out."""
    root = _obj(body, "$")
    users: list[str] = []
    groups: list[int] = []
    for i, item in enumerate(_list(root.get("results"), "$.results")):
        base = f"$.results[{i}].data"
        props = _obj(
            _obj(_obj(item, base).get("data"), base).get("properties"), f"{base}.properties"
        )
        kind = _int(props.get("type"), f"{base}.properties.type")
        if kind == 0:
            users.append(_str(props.get("name"), f"{base}.properties.name"))
        elif kind == 1:
            groups.append(_int(props.get("id"), f"{base}.properties.id"))
    return MembersPage(users=tuple(users), groups=tuple(groups), **_paging(root))


def _each(value: Any, path: str) -> list[tuple[Any, str]]:
    """A list's items, or one object as a list of one (REST API 2.0.2 lists `data` and
    `assignments` as arrays; v2 list answers elsewhere put one object per result)."""
    if isinstance(value, Mapping):
        return [(value, path)]
    return [(item, f"{path}[{i}]") for i, item in enumerate(_list(value, path))]


def _sender(entry: Mapping[str, Any], path: str) -> tuple[int | None, str | None, str | None]:
    """`from_user_id`: an id, or the member record `expand=assignments{from_user_id}` puts
    there instead."""
    value = entry.get("from_user_id")
    if isinstance(value, Mapping):
        name = value.get("name_formatted") or value.get("display_name")
        return (
            _opt_int(value.get("id"), f"{path}.from_user_id.id"),
            _opt_str(value.get("name")),
            name if isinstance(name, str) and name else None,
        )
    return _opt_int(value, f"{path}.from_user_id"), None, None


def _assignment(entry: Mapping[str, Any], path: str) -> Assignment | None:
    if entry.get("workflow_id") in (None, "", 0):
        return None  # not a workflow step (another kind of assignment)
    names = {
        "process_id": "workflow_id",
        "subprocess_id": "workflow_subworkflow_id",
        "task_id": "workflow_subworkflow_task_id",
    }
    ids = {ours: _int(entry.get(theirs), f"{path}.{theirs}") for ours, theirs in names.items()}
    ref = _task_ref(ids, path)
    from_id, from_login, from_name = _sender(entry, path)
    return Assignment(
        ref=ref,
        name=str(entry.get("name") or ""),
        date_due=str(entry.get("date_due") or ""),
        priority_name=str(entry.get("priority_name") or ""),
        instructions=str(entry.get("instructions") or ""),
        from_user_id=from_id,
        from_login=from_login,
        from_name=from_name,
    )


def assignments(body: Any) -> list[Assignment]:
    """`{"results": [{"data": [{"assignments": [{id, name, date_due, priority, priority_name,
    from_user_id, workflow_id, workflow_subworkflow_id, workflow_subworkflow_task_id, ...}]}]}]}`
    (REST API 2.0.2 `members_V2ResponseAssignments`). Assignments that are no workflow step
    are left out; a step named twice is listed once."""
    out: dict[TaskRef, Assignment] = {}
    for result, at in _each(_obj(body, "$").get("results"), "$.results"):
        for data, data_at in _each(_obj(result, at).get("data"), f"{at}.data"):
            block = _obj(data, data_at).get("assignments")
            if block is None:
                continue
            for item, item_at in _each(block, f"{data_at}.assignments"):
                found = _assignment(_obj(item, item_at), item_at)
                if found is not None and found.ref not in out:
                    out[found.ref] = found
    return list(out.values())


def node_info(body: Any) -> NodeInfo:
    """`{"results": {"data": {"properties": {id, name, type, mime_type, size?, ...}}}}`."""
    results = _obj(_obj(body, "$").get("results"), "$.results")
    data = _obj(results.get("data"), "$.results.data")
    props = _obj(data.get("properties"), "$.results.data.properties")
    return NodeInfo(
        id=_int(props.get("id"), "$.results.data.properties.id"),
        name=_str(props.get("name"), "$.results.data.properties.name"),
        type=_int(props.get("type"), "$.results.data.properties.type"),
        mime_type=_opt_str(props.get("mime_type")),
        size=_opt_int(props.get("size"), "$.results.data.properties.size"),
        modify_date=_opt_str(props.get("modify_date")),
    )
