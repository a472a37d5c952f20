"""How a notification for a Content Server group reaches its members: page by page, each
page a delivery batch of its own.
Why: docs/design/group-walk-by-pages.md."""

from __future__ import annotations

from dataclasses import dataclass, field

from ecmpush.domain.delivery.messages import GroupPageMessage
from ecmpush.domain.delivery.routing_config import EcmGroupTeam
from ecmpush.domain.ecm.model import MembersPage
from ecmpush.domain.user_ids import ecm_user_id

MAX_DEPTH = 8  # member groups of member groups; deeper nesting is a mistake, not a team
# A page queues at most this many more: a million-member group is 10,000 pages, and queueing
# them all from page 1 would outlast the invocation (and be queued again by every retry).
PAGES_PER_LEADER = 100


@dataclass(frozen=True)
class WalkStep:
    users: list[str] = field(default_factory=list)  # deliver to these now
    follow: list[GroupPageMessage] = field(default_factory=list)  # queue these
    refused: str | None = None  # why the whole group is not sent to
    skipped: list[str] = field(default_factory=list)  # what was left out, and why


def next_step(message: GroupPageMessage, page: MembersPage) -> WalkStep:
    group = message.notification.groups[0]
    if message.page == 1 and page.total_count > group.max_members:
        return WalkStep(
            refused=f"group {group.ecm_group} has {page.total_count} {message.member_type}, "
            f"more than the team's max_members {group.max_members}"
        )
    follow: list[GroupPageMessage] = []
    if (message.page - 1) % PAGES_PER_LEADER == 0:  # pages 1, 101, 201, ...: a window's first
        last = min(message.page + PAGES_PER_LEADER - 1, page.page_total)
        pages = range(message.page + 1, last + 1)
        follow += [message.model_copy(update={"page": n}) for n in pages]
        if last < page.page_total:  # the next window's first page queues the next window
            follow.append(message.model_copy(update={"page": last + 1}))
    if message.page == 1 and message.member_type == "users":
        follow.append(message.model_copy(update={"member_type": "groups"}))
    skipped: list[str] = []
    if message.member_type == "groups":
        for member in page.groups:
            reason = _not_walked(message, member)
            if reason:
                skipped.append(reason)
                continue
            team = EcmGroupTeam(ecm_group=member, max_members=group.max_members)
            follow.append(
                GroupPageMessage(
                    notification=message.notification.model_copy(update={"groups": [team]}),
                    via=(*message.via, group.ecm_group),
                )
            )
    users: dict[str, None] = {}
    for login in page.users:
        try:
            users[ecm_user_id(login)] = None
        except ValueError as exc:
            skipped.append(f"member {login[:64]!r} of group {group.ecm_group}: {exc}")
    return WalkStep(users=list(users), follow=follow, skipped=skipped)


def _not_walked(message: GroupPageMessage, member: int) -> str | None:
    if member < 1:
        return f"member group id {member} of group {message.group_id} is not an id: not walked"
    path = (*message.via, message.group_id)
    if member in path:
        return f"group {member} contains itself (through {list(path)}): not walked again"
    if len(path) >= MAX_DEPTH:
        return f"group {member} is nested deeper than {MAX_DEPTH} groups: not walked"
    return None
