"""Nodes and search in the Content Server stand-in: `GET /api/v2/nodes/{id}` (properties, and
categories with `fields=categories`), `GET /api/v2/nodes/{id}/content` (the document's bytes),
both as the user's permissions allow (See, See Contents), and `POST /api/v2/search`, a small
LQL subset (devstack/ecm_lql.py) that answers a `regions` section only for the regions `select`
names and only nodes the user may see."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from devstack.ecm_auth import Sessions
from devstack.ecm_lql import LqlError, matches, parse_lql, region_values
from devstack.ecm_model import Node, User
from devstack.ecm_paging import page_bounds, paging
from devstack.ecm_wire import error, json_response, self_link

NO_NODE_ERROR = "Could not get a node for {id}"  # REST API 2.0.2, GET /api/v2/nodes/{id} 400
# REST API 2.0.2, GET /api/v2/nodes/{id}/content 500: unknown and forbidden alike.
NO_ACCESS_ERROR = (
    "Sorry, the item you requested could not be accessed. Either it does not exist, or you do "
    "not have permission to access it. If you were sent a link to this item, please contact the "
    "sender for assistance."
)
_SELECT = re.compile(r"^\{\s*'[A-Za-z][A-Za-z0-9_]*'(\s*,\s*'[A-Za-z][A-Za-z0-9_]*')*\s*\}$")

ROUTES = [
    Rule("/api/v2/nodes/<int(signed=True):node_id>", endpoint="node", methods=["GET"]),
    Rule("/api/v2/nodes/<int(signed=True):node_id>/content", endpoint="content", methods=["GET"]),
    Rule("/api/v2/search", endpoint="search", methods=["POST"]),
]


class NodeRoutes(Sessions):
    """`/api/v2/nodes/{id}` and `/api/v2/search`."""

    def _principals(self, user: User) -> set[str | int]:
        """The user's login and every group it belongs to, directly or through member groups."""
        with self._lock:
            groups = list(self.groups.values())
        found: set[str | int] = {user.login}
        changed = True
        while changed:
            changed = False
            for group in groups:
                if group.id in found:
                    continue
                if user.login in group.members or found & set(group.member_groups):
                    found.add(group.id)
                    changed = True
        return found

    def _h_node(self, request: Request, entry: dict[str, Any], node_id: int) -> Response:
        user = self._ticket_user(request, entry)
        with self._lock:
            node = self.nodes.get(node_id)
        # A node the user may not see is answered as an unknown one.
        if node is None or not node.may_see(self._principals(user)):
            raise error(400, NO_NODE_ERROR.format(id=node_id))
        fields = ",".join(request.args.getlist("fields")) or "properties"
        data: dict[str, Any] = {"properties": node.properties()}
        if "categories" in fields:
            data["categories"] = node.category_blocks()
        href = f"/api/v2/nodes/{node_id}"
        return json_response({"links": self_link(href, "GET"), "results": {"data": data}})

    def _h_content(self, request: Request, entry: dict[str, Any], node_id: int) -> Response:
        """The latest version's bytes with their MIME type; anything unreadable (no such node,
        no See Contents, no content) is the documented 500."""
        user = self._ticket_user(request, entry)
        with self._lock:
            node = self.nodes.get(node_id)
        content = node.content() if node is not None else None
        if node is None or content is None or not node.may_open(self._principals(user)):
            raise error(500, NO_ACCESS_ERROR)
        filename = quote(node.name)
        return Response(
            content,
            status=200,
            mimetype=node.mime_type or "application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"},
        )

    def _ancestors(self, node: Node) -> list[int]:
        chain: list[int] = []
        current = self.nodes.get(node.parent_id)
        while current is not None and current.id not in chain:
            chain.append(current.id)
            current = self.nodes.get(current.parent_id)
        return chain

    def _h_search(self, request: Request, entry: dict[str, Any]) -> Response:
        user = self._ticket_user(request, entry)
        form = request.form
        try:
            clauses = parse_lql(form.get("where", ""))
            page = int(form.get("page", "1"))
            limit = int(form.get("limit", "10"))
            locations = [
                int(v) for k, v in form.items() if re.fullmatch(r"location_id\d+", k) and v
            ]
        except LqlError as exc:
            raise error(400, f"Invalid search query: {exc}") from None
        except ValueError:
            raise error(400, "page, limit and location ids must be integers") from None
        if page < 1 or limit < 1:
            raise error(400, "page and limit must be positive")
        select = form.get("select")
        if select is not None and not _SELECT.match(select):
            raise error(400, "Invalid datatype specified for argument 'select'")
        wanted = re.findall(r"'([A-Za-z][A-Za-z0-9_]*)'", select or "")
        hits: list[tuple[Node, list[int]]] = []
        principals = self._principals(user)
        with self._lock:
            for node in sorted(self.nodes.values(), key=lambda n: n.id):
                if not node.may_see(principals):
                    continue
                ancestors = self._ancestors(node)
                if locations and not any(loc in ancestors for loc in locations):
                    continue
                try:
                    if all(matches(c, region_values(node, c.region, ancestors)) for c in clauses):
                        hits.append((node, ancestors))
                except LqlError as exc:
                    raise error(400, f"Invalid search query: {exc}") from None
        start, end = page_bounds(len(hits), page, limit)
        results = [self._search_row(node, ancestors, wanted) for node, ancestors in hits[start:end]]
        block = paging(len(hits), page, limit, href="/api/v2/search", method="POST")
        return json_response(
            {
                "collection": {
                    "paging": block,
                    "searching": {"result_title": "Search results"},
                    "sorting": {"sort": ["asc_OTObjectID"]},
                },
                "links": self_link("/api/v2/search", "POST"),
                "results": results,
            }
        )

    def _search_row(self, node: Node, ancestors: list[int], select: list[str]) -> dict[str, Any]:
        """A hit; a `regions` section only for the regions `select` named (REST API 2.0.2: "Adding
        a value in the above list will add a 'regions' section"), an unknown one as null."""
        data: dict[str, Any] = {"properties": node.properties()}
        if select:
            regions: dict[str, Any] = {}
            for region in select:
                try:
                    values = region_values(node, region, ancestors)
                except LqlError:
                    values = []
                if region.casefold() == "otlocation":
                    values = [" ".join(str(a) for a in [*reversed(ancestors), node.id])]
                regions[region] = values[0] if values else None
            data["regions"] = regions
        return {
            "data": data,
            "links": {"parent": {"href": f"api/v1/nodes/{node.parent_id}"}},
            "search_result_metadata": {
                "current_version": True,
                "object_id": f"DataId={node.id}&Version=1",
                "result_type": "264",
            },
        }
