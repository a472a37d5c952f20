"""Workflow steps beyond the demo seed that several stand-in and client tests load."""

from __future__ import annotations

from typing import Any

# A step assigned to a group: its members see it until one of them accepts it (`member_accept`).
GROUP_TASK: dict[str, Any] = {
    "process_id": 4800,
    "subprocess_id": 4800,
    "task_id": 1,
    "title": "Group approval",
    "assignee": "",
    "initiator": "dlee",
    "group": ["asmith", "cwu"],
    "member_accept": True,
    "actions": [{"key": "SendOn", "label": "Send On"}],
}

# A step that asks whoever sends it on to authenticate again (the form's `authentication`): a
# real server refuses its send-on without `authentication_info`, which no push reply can carry.
AUTHENTICATED_TASK: dict[str, Any] = {
    "process_id": 4900,
    "subprocess_id": 4900,
    "task_id": 1,
    "title": "Sign off the audit",
    "assignee": "asmith",
    "initiator": "bjones",
    "actions": [{"key": "SendOn", "label": "Send On"}],
    "authentication": True,
}
