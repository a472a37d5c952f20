"""A document the caller opens from the app, and how much of it one answer carries. A Lambda
behind API Gateway answers at most 6 MB, and binary travels base64-encoded (4 bytes for 3), so
a document is served whole up to `MAX_CONTENT_BYTES` and refused above it with 413 and a hint
(open it in Content Server). Why: docs/design/approver-api.md."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from ecmpush.domain.ecm.model import NodeInfo

# base64 of 4 MiB is 5.33 MiB: under Lambda's 6 MB response with room for headers.
MAX_CONTENT_BYTES = 4 * 1024 * 1024


class DocumentMetadata(BaseModel):
    """`GET /me/documents/{node_id}/metadata`: the node as Content Server shows it to the
    caller. `size` is null when Content Server did not say; `too_large` says the content
    route will answer 413 (`max_bytes`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node_id: str
    name: str
    mime_type: str | None
    size: int | None
    modified_at: str | None
    too_large: bool
    max_bytes: int


def metadata(node: NodeInfo, limit: int = MAX_CONTENT_BYTES) -> DocumentMetadata:
    return DocumentMetadata(
        node_id=str(node.id),
        name=node.name,
        mime_type=node.mime_type,
        size=node.size,
        modified_at=node.modify_date,
        too_large=node.size is not None and node.size > limit,
        max_bytes=limit,
    )
