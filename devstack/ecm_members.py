"""Group members in the Content Server stand-in: `GET /api/v2/members/{id}/members`, a group's
direct members as the REST API 2.0.2 document pages them (listing rules in
devstack/ecm_groups.py), with its 500s for an unknown id or a user's."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from devstack.ecm_auth import Sessions
from devstack.ecm_groups import MembersRequestError, listing, members_answer, where_type
from devstack.ecm_wire import error, json_response

NO_MEMBER_ERROR = "Could not get a member for {id}"  # REST API 2.0.2, members 500
INVALID_GROUP_ERROR = "Invalid group {id}"  # REST API 2.0.2, members 500

ROUTES = [
    Rule(
        "/api/v2/members/<int(signed=True):member_id>/members",
        endpoint="group_members",
        methods=["GET"],
    ),
]


class MemberRoutes(Sessions):
    """`/api/v2/members/{id}/members`."""

    def _h_group_members(self, request: Request, entry: dict[str, Any], member_id: int) -> Response:
        self._ticket_user(request, entry)
        with self._lock:
            group = self.groups.get(member_id)
            if group is None:  # REST API 2.0.2: a user's id, or no member at all, is a 500
                if any(u.id == member_id for u in self.users.values()):
                    raise error(500, INVALID_GROUP_ERROR.format(id=member_id))
                raise error(500, NO_MEMBER_ERROR.format(id=member_id))
            try:
                kind = where_type(request.args)
                members = self._listings.get((member_id, kind))
                if members is None:
                    members = listing(
                        group, kind, user=self._user_record, group_by_id=self.groups.get
                    )
                    self._listings[(member_id, kind)] = members
                body = members_answer(group, members, request.args)
            except MembersRequestError as exc:
                raise error(400, str(exc)) from None
        return json_response(body)

    def _user_record(self, login: str) -> dict[str, Any] | None:
        """A user as the members routes list it, or None for an unknown login."""
        user = self.users.get(login)
        return user.as_member() if user else None
