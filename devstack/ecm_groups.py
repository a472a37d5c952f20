"""Content Server groups in the stand-in, and `GET /api/v2/members/{id}/members`.

What the route does, as strictly as public sources allow (pyxecm's `get_group_members` and
`get_group_members_iterator`, the REST API 2.0.2 members routes): direct members only (a member
group is listed as a group, never expanded), `where_type` 0 (users) or 1 (groups) or absent
(both), `limit` (default 25) and `page` from 1, `collection.paging` like the search's, members
sorted by id, `results[].data.properties` with each member's `id`, `name` (login for users),
`type` and `type_name`. The stand-in answers at most `MAX_LIMIT` members a page whatever the
`limit` asked, and says so in `paging.limit`: a client must follow `page_total`, never assume
that it got what it asked for. Group ids and user ids share one id space, as in Content
Server's member database."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from devstack.ecm_paging import page_bounds, paging

DEFAULT_LIMIT = 25
MAX_LIMIT = 100


class MembersRequestError(ValueError):
    """The request is malformed (a 400)."""


@dataclass
class Group:
    id: int
    name: str
    members: list[str] = field(default_factory=list)  # user logins
    member_groups: list[int] = field(default_factory=list)

    @classmethod
    def from_seed(cls, raw: Mapping[str, Any]) -> Group:
        return cls(
            id=int(raw["id"]),
            name=str(raw["name"]),
            members=[str(login) for login in raw.get("members", [])],
            member_groups=[int(g) for g in raw.get("member_groups", [])],
        )

    def as_member(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "type": 1,
            "type_name": "Group",
            "deleted": False,
            "leader_id": None,
        }


def _positive(args: Mapping[str, str], name: str, default: int) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise MembersRequestError(f"Invalid value for parameter '{name}'") from None
    if value < 1:
        raise MembersRequestError(f"Invalid value for parameter '{name}'")
    return value


def where_type(args: Mapping[str, str]) -> str | None:
    value = args.get("where_type")
    if value not in (None, "0", "1"):
        raise MembersRequestError("Invalid value for parameter 'where_type'")
    return value


def listing(
    group: Group,
    kind: str | None,
    *,
    user: Callable[[str], Mapping[str, Any] | None],
    group_by_id: Callable[[int], Group | None],
) -> list[Mapping[str, Any]]:
    """The group's direct members of `kind` (`where_type`) sorted by id; a login or id that no
    longer resolves is not listed, as a deleted member is not."""
    members: list[Mapping[str, Any]] = []
    if kind in (None, "0"):
        members += [m for m in map(user, group.members) if m is not None]
    if kind in (None, "1"):
        found = (group_by_id(g) for g in group.member_groups)
        members += [g.as_member() for g in found if g is not None]
    members.sort(key=lambda m: int(m["id"]))
    return members


def members_answer(
    group: Group, members: list[Mapping[str, Any]], args: Mapping[str, str]
) -> dict[str, Any]:
    """The route's answer: page `page` of `members` (from `listing`)."""
    limit = min(_positive(args, "limit", DEFAULT_LIMIT), MAX_LIMIT)
    page = _positive(args, "page", 1)
    start, end = page_bounds(len(members), page, limit)
    href = f"/api/v2/members/{group.id}/members"
    block = paging(len(members), page, limit, href=href, method="GET")
    del block["links"]  # pyxecm's examples have none here; REST API 2.0.2 types them a list
    return {
        "collection": {
            "paging": block,
            "sorting": {"sort": [{"key": "sort", "value": "asc_id"}]},
        },
        "links": {
            "data": {
                "self": {"body": "", "content_type": "", "href": href, "method": "GET", "name": ""}
            }
        },
        "results": [{"data": {"properties": dict(m)}} for m in members[start:end]],
    }
