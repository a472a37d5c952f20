"""The web client's comment limit is the API's (issue 20, finding 11e): the page allowed 2,000
characters and `POST /responses` refused anything over 1,000 with a schema error. The page's
limit is one constant in clients/web/src/replies.js (the comment box's counter and its check
before sending read it); this holds it to the domain's. The browser test types past it."""

from __future__ import annotations

import re

from ecmpush.domain.replies.requests import MAX_COMMENT_CHARS
from tests.conftest import REPO_ROOT

REPLIES_JS = REPO_ROOT / "clients" / "web" / "src" / "replies.js"


def test_the_web_clients_comment_limit_is_the_apis() -> None:
    source = REPLIES_JS.read_text(encoding="utf-8")
    (limit,) = re.findall(r"^export const MAX_COMMENT = (\d+);$", source, re.MULTILINE)
    assert int(limit) == MAX_COMMENT_CHARS
