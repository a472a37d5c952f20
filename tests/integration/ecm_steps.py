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
