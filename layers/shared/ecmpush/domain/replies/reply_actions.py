"""Which reply buttons a workflow step offers, and how each platform names that button set.

The ids are the reply actions of contract §3; iOS needs a registered category per button set
(`apns.payload.aps.category`), Android builds buttons from `data.actions`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Kept free of pydantic models: the reply API's body needs this type at init
# (domain/replies/requests.py).
ReplyAction = Literal["acknowledge", "approve", "reject", "request_info"]


@dataclass(frozen=True)
class ButtonSet:
    category: str  # the APNs category / Android click_action
    actions: tuple[ReplyAction, ...]


APPROVAL = ButtonSet("ECM_APPROVAL", ("approve", "reject", "request_info"))
REVIEW = ButtonSet("ECM_REVIEW", ("acknowledge", "request_info"))
ACK = ButtonSet("ECM_ACK", ("acknowledge",))
INFO = ButtonSet("ECM_INFO", ())

BY_STAGE: dict[str, ButtonSet] = {"approval": APPROVAL, "review": REVIEW, "task": ACK}

BUTTON_LABELS: dict[ReplyAction, str] = {
    "approve": "Approve",
    "reject": "Reject",
    "acknowledge": "Acknowledge",
    "request_info": "Ask for info",
}
