"""The web client in a real browser (headless Chromium from Debian, driven by Playwright) against
the local stack: sign in, register, receive the approval push, tap Approve, see the reply in the
inbox and the Content Server stand-in's task sent on. Screenshots of each step go to
.build/screenshots/ (`make screenshots` copies them to docs/images/, which the README shows). A
second run answers from the service worker's notification instead of the page: the page is
hidden, so pushes go to firebase-messaging-sw.js, which shows them with their buttons; a click on
a button is dispatched to the worker's own `notificationclick` listener (a headless browser has
no notification to click)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devstack.demo import approval_event
from devstack.web_static import DIST_DIR
from senders.relay.webhook import post_event
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import RunningStack, devstack

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Build output: docs/images changes only by `make screenshots`.
IMAGES = REPO_ROOT / ".build" / "screenshots"
USER = "bjones"
TASK = ("4790", "4790", "1")  # seeded below for this test alone
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium: `make browser` installs Debian's chromium (apt-get) where it can")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def _seed_task(
    stack: RunningStack,
    task_ids: tuple[str, str, str] = TASK,
    title: str = "Approve budget FY27",
    stage: str = "approval",
) -> None:
    process, subprocess, task = (int(part) for part in task_ids)
    approval = stage == "approval"
    seeded = requests.post(
        f"{stack.urls['ecm']}/_inspect/seed",
        json={
            "tasks": [
                {
                    "process_id": process,
                    "subprocess_id": subprocess,
                    "task_id": task,
                    "stage": stage,
                    "title": title,
                    "assignee": USER,
                    "initiator": "asmith",
                    "actions": [{"key": "SendOn", "label": "Send On"}]
                    + ([] if approval else [{"key": "SendForReview", "label": "Send for Review"}]),
                    "custom_actions": [
                        {"key": "Approve", "label": "Approve"},
                        {"key": "Reject", "label": "Reject"},
                    ]
                    if approval
                    else [],
                }
            ]
        },
        timeout=10,
    )
    assert seeded.ok, seeded.text


def _approval(
    event_id: str,
    task_ids: tuple[str, str, str] = TASK,
    title: str = "Approve budget FY27",
    stage: str = "approval",
) -> dict[str, Any]:
    event = approval_event(event_id)
    process, subprocess, task = task_ids
    event["data"]["task"].update(
        process_id=process, subprocess_id=subprocess, task_id=task, title=title, stage=stage
    )
    event["data"]["assignee"] = {"user_id": USER}
    event["data"].pop("supervisor")
    return event


def _post(stack: RunningStack, event: dict[str, Any]) -> None:
    secret = (stack.state_dir / "webhook_secret").read_text().strip()
    api_key = (stack.state_dir / "webhook_api_key").read_text().strip()
    accepted = post_event(stack.api, secret, event, api_key=api_key)
    assert accepted.status_code == 202, accepted.text


def _ecm_task(stack: RunningStack, task_ids: tuple[str, str, str]) -> dict[str, Any]:
    process, subprocess, task = task_ids
    answer = requests.get(
        f"{stack.urls['ecm']}/_inspect/tasks/{process}/{subprocess}/{task}", timeout=10
    )
    assert answer.ok, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_sign_in_register_receive_approve(running_stack: RunningStack, browser: Any) -> None:
    assert (DIST_DIR / "index.html").exists(), "web client not built: run `make web`"
    _seed_task(running_stack)
    context = browser.new_context(viewport={"width": 820, "height": 900}, locale="en-GB")
    context.grant_permissions(["notifications"], origin=running_stack.api)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{running_stack.api}/app/")
        page.fill("#ecm-user", USER)
        page.screenshot(path=IMAGES / "web-1-sign-in.png")

        page.click("#sign-in button[type=submit]")
        page.wait_for_selector("body[data-registered=yes]", state="attached")
        installation_id = page.evaluate("localStorage.getItem('ecmpush.installation_id')")
        assert page.inner_text("#who") == USER
        assert page.inner_text("#device") == f"{installation_id} (web)"
        # The service worker that shows background pushes is installed and controls the page.
        assert (
            page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
            .split("?")[0]
            .endswith("/app/firebase-messaging-sw.js")
        )
        page.screenshot(path=IMAGES / "web-2-registered.png")

        _post(running_stack, _approval("evt-web-client-0001"))
        card = page.locator("[data-testid=push][data-type='task.assigned']")
        card.wait_for()
        assert "Approval needed: Approve budget FY27" in card.inner_text()
        labels = card.locator(".actions button").all_inner_texts()
        assert labels == ["Approve", "Reject", "Ask for info"]
        page.screenshot(path=IMAGES / "web-3-push.png")

        card.locator("button[data-action=approve]").click()
        page.wait_for_selector("[data-testid=push][data-replied]")
        assert card.get_attribute("data-replied") == "yes", card.inner_text()
        reply = page.locator("[data-testid=inbox-item]", has_text="Approve budget FY27")
        reply.locator("[data-testid=inbox-reply]").wait_for()
        assert reply.locator("[data-testid=inbox-reply]").inner_text() == "Reply: approve · applied"
        page.locator("[data-testid=push][data-type='response.confirmed']").wait_for()
        page.screenshot(path=IMAGES / "web-4-replied.png", full_page=True)
    finally:
        context.close()
    assert errors == []

    ecm_task = _ecm_task(running_stack, TASK)
    assert ecm_task["status"] == "completed"
    assert ecm_task["disposition_taken"] == "Approve"
    assert ecm_task["acted_by"] == USER
    assert ecm_task["comments"][-1]["comment"].startswith("via ecmpush from web at ")

    # The dashboard's figures, locally, count what just happened.
    status = devstack(running_stack.state_dir, "status", "--json")
    assert status.returncode == 0, status.stderr
    figures = json.loads(status.stdout)
    assert figures["pushes"]["sent"] >= 2  # the approval and its confirmation
    assert figures["webhook"]["2xx"] >= 1
    assert set(figures["queues"]) >= {"DispatchQueue", "WriteBackQueue", "WriteBackDeadLetterQueue"}


def test_comment_box_for_ask_for_info_and_forged_sign_in_refused(
    running_stack: RunningStack, browser: Any
) -> None:
    """`Ask for info` needs a comment before anything is sent; a custom token not signed by the
    project's service account gets no ID token from the auth stand-in."""
    forged = requests.post(
        f"{running_stack.urls['fcm']}/identitytoolkit.googleapis.com/v1/"
        "accounts:signInWithCustomToken?key=local-api-key",
        json={"token": "eyJhbGciOiJub25lIn0.eyJ1aWQiOiJ4In0.", "returnSecureToken": True},
        timeout=10,
    )
    assert forged.status_code == 400
    assert forged.json()["error"]["message"] == "INVALID_CUSTOM_TOKEN"

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        payload = {
            "data": {
                "notification_id": "n-local-1",
                "type": "task.assigned",
                "title": "Review policy",
                "body": "Please review",
                "actions": "acknowledge,request_info",
                "action_token": "v1.x.y",
            }
        }
        page.goto(f"{running_stack.api}/app/")
        page.fill("#ecm-user", "cwu")
        page.click("#sign-in button[type=submit]")
        page.wait_for_selector("body[data-registered=yes]", state="attached")
        page.evaluate(
            "p => { location.hash = 'open=' + encodeURIComponent(JSON.stringify({payload: p,"
            " action: 'request_info'})); location.reload(); }",
            payload,
        )
        card = page.locator("[data-testid=push][data-notification-id=n-local-1]")
        card.wait_for()
        assert card.locator("[data-testid=reply-comment]").is_visible()
        card.locator(".comment button").click()
        assert card.locator("[data-testid=reply-result]").inner_text() == (
            "Please say what you need."
        )
    finally:
        context.close()


# Run in the service worker: the notifications it shows (title, body, buttons), newest last,
# waiting up to a minute for one titled `title` (Dispatch is slow on a loaded machine).
SHOWN = """async (title) => {
  for (const deadline = Date.now() + 60000; Date.now() < deadline;) {
    const shown = (await self.registration.getNotifications())
      .filter((n) => n.title.includes(title));
    if (shown.length) {
      return shown.map((n) => ({
        title: n.title,
        body: n.body,
        tag: n.tag,
        actions: n.actions.map((a) => [a.action, a.title]),
        notificationId: n.data?.FCM_MSG?.data?.notification_id ?? null,
      }));
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return [];
}"""

# Run in the service worker: a click on a button of the notification titled `title`, dispatched
# to the worker's own listeners. A synthetic event may not call waitUntil, so the promises it
# hands over are collected here and awaited: their outcome is what the browser would wait for.
CLICK = """async ({title, action}) => {
  const [notification] = (await self.registration.getNotifications())
    .filter((n) => n.title === title);
  if (!notification) return {found: false};
  const waits = [];
  const event = new NotificationEvent('notificationclick', {notification, action});
  Object.defineProperty(event, 'waitUntil', {value: (promise) => { waits.push(promise); }});
  self.dispatchEvent(event);
  const settled = await Promise.allSettled(waits);
  const stillShown = (await self.registration.getNotifications()).some((n) => n === notification);
  return {
    found: true,
    waited: settled.length,
    replies: settled
      .filter((s) => s.status === 'fulfilled' && s.value && 'status' in s.value && 'ok' in s.value)
      .map((s) => s.value),
    stillShown,
  };
}"""

# The page believes it is hidden (another tab in front): pushes go to the service worker.
HIDDEN_PAGE = """
Object.defineProperty(Document.prototype, 'visibilityState', {get: () => 'hidden'});
Object.defineProperty(Document.prototype, 'hidden', {get: () => true});
"""

SW_APPROVAL = ("4791", "4791", "1")
SW_REVIEW = ("4792", "4792", "1")


def test_answers_from_the_service_worker_notification(
    running_stack: RunningStack, browser: Any
) -> None:
    """While the page is hidden the service worker shows each push with its buttons. Approve on
    the notification posts the action token to POST /responses from the worker itself (the page
    does nothing) and the Content Server stand-in's task is sent on; Ask for info on a review
    notification opens the page's comment box, and the comment reaches the workflow."""
    _seed_task(running_stack, SW_APPROVAL, "Approve travel policy v3")
    _seed_task(running_stack, SW_REVIEW, "Review safety manual", stage="review")
    context = browser.new_context(viewport={"width": 820, "height": 900}, locale="en-GB")
    context.grant_permissions(["notifications"], origin=running_stack.api)
    context.add_init_script(HIDDEN_PAGE)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    responses: list[str] = []
    page.on("request", lambda r: responses.append(r.url) if r.url.endswith("/responses") else None)
    try:
        page.goto(f"{running_stack.api}/app/")
        page.fill("#ecm-user", USER)
        page.click("#sign-in button[type=submit]")
        page.wait_for_selector("body[data-registered=yes]", state="attached")
        installation_id = page.evaluate("localStorage.getItem('ecmpush.installation_id')")
        (worker,) = [w for w in context.service_workers if "firebase-messaging-sw.js" in w.url]

        _post(running_stack, _approval("evt-web-sw-0001", SW_APPROVAL, "Approve travel policy v3"))
        title = "Approval needed: Approve travel policy v3"
        (shown,) = worker.evaluate(SHOWN, title)
        assert shown["title"] == title
        # Chrome shows at most two buttons: the first two of data.actions, labelled by the push.
        assert shown["actions"] == [["approve", "Approve"], ["reject", "Reject"]]
        assert shown["tag"] == shown["notificationId"]
        # Hidden: no card in the page, the notification is the only way to answer.
        assert page.locator("[data-testid=push]").count() == 0

        clicked = worker.evaluate(CLICK, {"title": title, "action": "approve"})
        assert clicked["found"], clicked
        assert clicked["waited"] == 1, clicked
        assert not clicked["stillShown"]
        (reply,) = clicked["replies"]
        assert (reply["ok"], reply["status"], reply["body"]["status"]) == (True, 202, "applied")
        assert responses == [], "the page posted the reply, not the service worker"
        ecm_task = _ecm_task(running_stack, SW_APPROVAL)
        assert ecm_task["status"] == "completed"
        assert ecm_task["disposition_taken"] == "Approve"
        assert ecm_task["acted_by"] == USER
        assert ecm_task["comments"][-1]["comment"].startswith("via ecmpush from web at ")
        (outcome,) = worker.evaluate(SHOWN, f"Approve: {title}")
        assert outcome["body"] == "Sent to Content Server."
        # The worker tells the page, which reloads its inbox with the reply.
        item = page.locator("[data-testid=inbox-item]", has_text="Approve travel policy v3")
        item.locator("[data-testid=inbox-reply]").wait_for()
        assert item.locator("[data-testid=inbox-reply]").inner_text() == "Reply: approve · applied"
        # The confirmation push reaches the hidden page's worker too, without buttons.
        (confirmation,) = worker.evaluate(SHOWN, "Recorded")
        assert confirmation["actions"] == []

        _post(
            running_stack, _approval("evt-web-sw-0002", SW_REVIEW, "Review safety manual", "review")
        )
        (shown,) = worker.evaluate(SHOWN, "Review safety manual")
        assert shown["actions"] == [
            ["acknowledge", "Acknowledge"],
            ["request_info", "Ask for info"],
        ]
        clicked = worker.evaluate(CLICK, {"title": shown["title"], "action": "request_info"})
        assert clicked["found"], clicked
        assert clicked["replies"] == [], clicked
        assert _ecm_task(running_stack, SW_REVIEW)["status"] != "completed"
        # Nothing was sent: the page opened its comment box with the push's buttons instead.
        card = page.locator("[data-testid=push][data-type='task.assigned']")
        card.wait_for()
        assert card.locator("[data-testid=reply-comment]").is_visible()
        assert responses == []
        card.locator("[data-testid=reply-comment]").fill("Which revision of chapter 4?")
        card.locator(".comment button").click()
        page.wait_for_selector("[data-testid=push][data-replied]")
        assert card.get_attribute("data-replied") == "yes", card.inner_text()
        assert len(responses) == 1
    finally:
        context.close()
    assert errors == []

    review = _ecm_task(running_stack, SW_REVIEW)
    assert review["disposition_taken"] == "SendForReview"
    assert review["review_assignee"] == "asmith"  # the workflow's initiator
    assert review["comments"][-1]["comment"].startswith(
        "Which revision of chapter 4? — via ecmpush from web at "
    )
    assert installation_id
