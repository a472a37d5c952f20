"""Withdrawal in a real browser (issue 23, item 2): the same user on several browsers (each its
own installation), approve on one, the others' notification is closed or replaced by the quiet
line and their card says who decided; a group step of several members, one accepts, the
others' pushes are withdrawn. Against the local stack, as tests/e2e/test_web_client.py."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests

from tests.e2e.conftest import RunningStack
from tests.e2e.test_web_client import (
    SHOWN,
    TIMEOUT_MS,
    _approval,
    _open_app,
    _post,
    _seed_task,
    _sign_in_as,
    browser,
)

pytestmark = pytest.mark.e2e
__all__ = ["browser"]  # the module's fixture, shared

USER = "bjones"  # the assignee tests/e2e/test_web_client.py seeds and signs in
DEVICES_TASK = ("4798", "4798", "1")  # ids no other browser test uses
GROUP_STEP = ("4799", "4799", "1")

# Run in the service worker: wait (up to a minute) until no notification on screen carries the
# push `notificationId` itself; what is shown then (the quiet replacement, a confirmation).
WITHDRAWN = """async (notificationId) => {
  const carries = (n) => n.data?.FCM_MSG?.data?.notification_id === notificationId;
  for (const deadline = Date.now() + 60000; Date.now() < deadline;) {
    const shown = await self.registration.getNotifications();
    const original = shown.filter((n) => carries(n) && n.data.FCM_MSG.data.type !== 'withdrawn');
    if (!original.length) {
      return {
        withdrawn: true,
        shown: shown.map((n) => ({
          title: n.title, body: n.body, tag: n.tag, silent: n.silent,
          type: n.data?.FCM_MSG?.data?.type ?? null,
          notificationId: n.data?.FCM_MSG?.data?.notification_id ?? null,
        })),
      };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {withdrawn: false};
}"""


def _worker(context: Any) -> Any:
    (worker,) = [w for w in context.service_workers if "firebase-messaging-sw.js" in w.url]
    return worker


def test_approve_on_one_browser_and_the_others_are_withdrawn(
    running_stack: RunningStack, browser: Any
) -> None:
    """Three installations of one user: `deciding` (page in front) approves from its card;
    `background` (page hidden: the service worker shows the push) has its notification replaced
    by the quiet line; `front` (page in front) has its card say who decided, without buttons."""
    _seed_task(running_stack, DEVICES_TASK, "Approve fleet renewal")
    opened = [_open_app(browser, running_stack, hidden=hidden) for hidden in (False, True, False)]
    (_, deciding_page, errors, _) = opened[0]
    background = opened[1][0]
    (_, front_page, front_errors, _) = opened[2]
    try:
        for _, page, _, _ in opened:
            _sign_in_as(page, running_stack, USER)
        ids = {
            p.evaluate("localStorage.getItem('ecmpush.installation_id')") for _, p, _, _ in opened
        }
        assert len(ids) == 3  # three devices of one user

        _post(
            running_stack, _approval("evt-web-withdraw-01", DEVICES_TASK, "Approve fleet renewal")
        )
        title = "Approval needed: Approve fleet renewal"
        (shown,) = _worker(background).evaluate(SHOWN, title)
        nid = shown["notificationId"]
        for page in (deciding_page, front_page):
            page.locator(f"[data-testid=push][data-notification-id='{nid}']").wait_for()

        deciding_page.locator(
            f"[data-testid=push][data-notification-id='{nid}'] button[data-action=approve]"
        ).click()
        deciding_page.wait_for_selector("[data-testid=push][data-replied=yes]")

        gone = _worker(background).evaluate(WITHDRAWN, nid)
        assert gone["withdrawn"], gone
        replaced = [n for n in gone["shown"] if n["type"] == "withdrawn"]
        # Chrome wants every push to show something: the quiet line, silent, in its place.
        [quiet] = replaced
        assert (quiet["tag"], quiet["silent"], quiet["notificationId"]) == (nid, True, nid)
        assert quiet["body"].startswith("Done: approved in the browser at "), quiet

        card = front_page.locator(f"[data-testid=push][data-notification-id='{nid}']")
        front_page.wait_for_selector(
            f"[data-testid=push][data-notification-id='{nid}'][data-decided=yes]",
            timeout=TIMEOUT_MS * 2,
        )
        assert card.locator("button[data-action]").count() == 0
        line = card.locator("[data-testid=reply-result]").inner_text()
        assert line.startswith(f"Approved by {USER} in a browser at "), line
    finally:
        for context, *_ in opened:
            context.close()
    assert errors == []
    assert front_errors == []


def test_a_group_step_accepted_by_one_member_is_withdrawn_from_the_others(
    running_stack: RunningStack, browser: Any
) -> None:
    """A group step (member_accept) for bjones and cwu, one assignment each. cwu's browser
    shows the push in the background; bjones approves (accept, then send on, by ecmpush); cwu's
    notification is closed or replaced, naming bjones."""
    process, subprocess, task = (int(part) for part in GROUP_STEP)
    seeded = requests.post(
        f"{running_stack.urls['ecm']}/_inspect/seed",
        json={
            "tasks": [
                {
                    "process_id": process,
                    "subprocess_id": subprocess,
                    "task_id": task,
                    "stage": "approval",
                    "title": "Approve shared budget",
                    "assignee": "",
                    "initiator": "asmith",
                    "group": [USER, "cwu"],
                    "member_accept": True,
                    "actions": [{"key": "SendOn", "label": "Send On"}],
                    "custom_actions": [
                        {"key": "Approve", "label": "Approve"},
                        {"key": "Reject", "label": "Reject"},
                    ],
                }
            ]
        },
        timeout=10,
    )
    assert seeded.ok, seeded.text
    context, page, errors, _ = _open_app(browser, running_stack, hidden=True)
    try:
        _sign_in_as(page, running_stack, "cwu")
        for member in (USER, "cwu"):
            event = _approval(f"evt-web-group-{member}", GROUP_STEP, "Approve shared budget")
            event["data"]["assignee"] = {"user_id": member}
            _post(running_stack, event)
        (shown,) = _worker(context).evaluate(SHOWN, "Approval needed: Approve shared budget")

        # bjones answers from their phone (the API, as the app would).
        token = _action_token(running_stack, USER, "Approve shared budget")
        answered = requests.post(
            f"{running_stack.api}/responses",
            headers={"Authorization": f"Bearer {running_stack.token(USER)}"},
            json={"action_token": token, "action": "approve"},
            timeout=60,
        )
        assert answered.status_code == 202, answered.text

        gone = _worker(context).evaluate(WITHDRAWN, shown["notificationId"])
        assert gone["withdrawn"], gone
        replaced = [n for n in gone["shown"] if n["type"] == "withdrawn"]
        # No installation named in the reply: its platform is unknown.
        assert all(n["body"].startswith("Done: approved in the app at ") for n in replaced), (
            replaced
        )
    finally:
        context.close()
    assert errors == []


def _action_token(stack: RunningStack, user: str, title: str) -> str:
    """The action token of `user`'s push titled `title`, from the FCM stand-in's records."""
    for record in reversed(stack.fcm_messages()):
        data = (record.get("message") or {}).get("data") or {}
        token = data.get("action_token")
        if token and title in data.get("title", "") and _recipient(token) == user:
            return str(token)
    raise AssertionError(f"no push for {user} titled {title!r}")


def _recipient(action_token: str) -> str:
    """The user an action token names (its claims are readable; only the signature is secret)."""
    claims = action_token.split(".")[1]
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    return str(decoded["u"])
