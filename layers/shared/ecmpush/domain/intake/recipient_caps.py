"""How many recipients one webhook request may name (issue 9, finding 8: unbounded work).
Why: docs/design/recipient-caps.md."""

from __future__ import annotations

from dataclasses import dataclass

from ecmpush.domain.field_errors import FieldError
from ecmpush.domain.intake.events import (
    DocumentAvailable,
    DocumentPublished,
    EcmEvent,
    RecordExpiryScheduled,
    TaskAssigned,
)


@dataclass(frozen=True)
class RecipientCaps:
    max_users_per_event: int = 250
    max_groups_per_event: int = 25
    max_recipients_per_request: int = 2500

    def __post_init__(self) -> None:
        if min(self.max_users_per_event, self.max_groups_per_event) < 1:
            raise ValueError("recipient caps must be at least 1")
        if self.max_recipients_per_request < self.max_users_per_event:
            raise ValueError("the per-request cap must allow one event at the per-event cap")


@dataclass(frozen=True)
class Named:
    """Recipients an event names, by field path."""

    users: dict[str, int]
    groups: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.users.values()) + sum(self.groups.values())


def named(event: EcmEvent) -> Named:
    """task.completed and governance.alert name no recipients (routing picks the roles)."""
    if isinstance(event, TaskAssigned):
        people = [event.data.assignee, event.data.supervisor, event.data.backup]
        return Named({"data": sum(p is not None for p in people)}, {})
    if isinstance(event, RecordExpiryScheduled):
        return Named(
            {"data.owners": len(event.data.owners)},
            {"data.notify_roles": len(event.data.notify_roles)},
        )
    if isinstance(event, DocumentAvailable):
        return Named(
            {"data.audience.users": len(event.data.audience.users)},
            {"data.audience.teams": len(event.data.audience.teams)},
        )
    if isinstance(event, DocumentPublished):
        return Named({"data.audience.external_ids": len(event.data.audience.external_ids)}, {})
    return Named({}, {})


def event_errors(event: EcmEvent, caps: RecipientCaps) -> list[FieldError]:
    """Field errors for each per-event cap the event exceeds; empty when within them."""
    counts = named(event)
    errors: list[FieldError] = []
    users, groups = sum(counts.users.values()), sum(counts.groups.values())
    if users > caps.max_users_per_event:
        errors.append(
            {
                "path": _widest(counts.users),
                "message": f"the event names {users} users; at most "
                f"{caps.max_users_per_event} per event (name a team instead)",
            }
        )
    if groups > caps.max_groups_per_event:
        errors.append(
            {
                "path": _widest(counts.groups),
                "message": f"the event names {groups} teams or roles; at most "
                f"{caps.max_groups_per_event} per event",
            }
        )
    return errors


def _widest(counts: dict[str, int]) -> str:
    return max(counts, key=lambda path: counts[path])
