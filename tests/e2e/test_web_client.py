"""The web client in a real browser (headless Chromium from Debian, driven by Playwright) against
the local stack: sign in, register, receive the approval push, tap Approve, see the reply in the
inbox and the Content Server stand-in's task sent on. Screenshots of each step go to
.build/screenshots/ (`make screenshots` copies them to docs/images/, which the README shows). A
second run answers from the service worker's notification instead of the page: the page is
hidden, so pushes go to firebase-messaging-sw.js, which shows them with their buttons; a click on
a button is dispatched to the worker's own `notificationclick` listener (a headless browser has
no notification to click). The rest hold the page to what a user may expect: a crafted `#open=`
link never answers or draws a card and labels are the app's (issue 20, finding 5), the comment
box stops at the API's limit (11e), nothing locks up when the API or config.json fails (issue 25;
failures made with Playwright's routing), cards waiting for an answer survive a reload until
answered, here or elsewhere, a push nobody saw is reminded and then escalated early to the
deputy's browser, and "Remind me later" on a card brings the push back (issue 23)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from devstack.demo import approval_event
from devstack.web_static import DIST_DIR
from devstack.webpush_channel import push_payload
from ecmpush.clock import rfc3339
from ecmpush.domain.replies.requests import MAX_COMMENT_CHARS
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
    assignee: str = USER,
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
                    "assignee": assignee,
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
    context, page, errors, _ = _open_app(browser, running_stack)
    try:
        page.goto(f"{running_stack.api}/app/")
        page.fill("#ecm-user", USER)
        page.screenshot(path=IMAGES / "web-1-sign-in.png")

        page.click("#sign-in button[type=submit]")
        page.wait_for_selector("body[data-registered=yes]", state="attached")
        installation_id = page.evaluate("localStorage.getItem('ecmpush.installation_id')")
        assert page.inner_text("#who") == USER
        assert page.inner_text("#device") == "Notifications are on for this browser."
        assert page.get_attribute("#device", "data-installation-id") == installation_id
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
        assert (
            reply.locator("[data-testid=inbox-reply]").inner_text()
            == "You answered: Approve · sent to Content Server"
        )
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
    """`Ask for info` tapped on a notification opens the page's comment box, which needs a
    comment before anything is sent; a custom token not signed by the project's service account
    gets no ID token from the auth stand-in."""
    forged = requests.post(
        f"{running_stack.urls['fcm']}/identitytoolkit.googleapis.com/v1/"
        "accounts:signInWithCustomToken?key=local-api-key",
        json={"token": "eyJhbGciOiJub25lIn0.eyJ1aWQiOiJ4In0.", "returnSecureToken": True},
        timeout=10,
    )
    assert forged.status_code == 400
    assert forged.json()["error"]["message"] == "INVALID_CUSTOM_TOKEN"

    context = browser.new_context()
    context.grant_permissions(["notifications"], origin=running_stack.api)
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
        (worker,) = [w for w in context.service_workers if "firebase-messaging-sw.js" in w.url]
        page.evaluate(
            "p => navigator.serviceWorker.controller"
            ".postMessage({type: 'ecmpush-push', payload: p})",
            payload,
        )
        (shown,) = worker.evaluate(SHOWN, "Review policy")
        clicked = worker.evaluate(CLICK, {"title": shown["title"], "action": "request_info"})
        assert clicked["found"], clicked
        assert clicked["replies"] == [], clicked
        card = page.locator("[data-testid=push][data-notification-id=n-local-1]")
        card.wait_for()
        assert card.locator("[data-testid=reply-comment]").is_visible()
        card.locator(".comment button").click()
        assert card.locator("[data-testid=reply-result]").inner_text() == (
            "Please say what you need."
        )
        assert page.evaluate(KEPT) == ["n-local-1"]

        # Signing out forgets the cards this browser kept: the next user does not see them.
        page.click("#sign-out")
        page.wait_for_selector("body[data-signed-in=no]", state="attached")
        assert page.evaluate(KEPT) == []
        assert page.locator("[data-testid=push]").count() == 0
    finally:
        context.close()


# Run in the page: the notification ids of the pushes the web client keeps for later.
KEPT = """async () => {
  const store = await caches.open('ecmpush-pushes-v1');
  const answers = await Promise.all((await store.keys()).map((r) => store.match(r)));
  const kept = await Promise.all(answers.map((a) => a.json()));
  return kept.map((k) => k.payload.data.notification_id);
}"""


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


def _open_app(
    browser: Any,
    stack: RunningStack,
    *,
    hidden: bool = False,
    viewport: dict[str, int] | None = None,
    locale: str = "en-GB",
    background_sync: bool = False,
) -> tuple[Any, Any, list[str], list[Any]]:
    """A browser context allowed to notify (and with `background_sync`, to sync in the
    background), and its page on the app's origin: the page's uncaught errors, and every body
    POSTed to /responses by the page or its service worker, are collected in the lists returned
    beside them. `hidden` makes the page report itself hidden, so pushes go to the service
    worker."""
    context = browser.new_context(viewport=viewport or {"width": 820, "height": 900}, locale=locale)
    granted = ["notifications", "background-sync"] if background_sync else ["notifications"]
    context.grant_permissions(granted, origin=stack.api)
    if hidden:
        context.add_init_script(HIDDEN_PAGE)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    replies: list[Any] = []
    context.on(
        "request",
        lambda r: replies.append(r.post_data_json) if r.url.endswith("/responses") else None,
    )
    return context, page, errors, replies


def _sign_in_as(page: Any, stack: RunningStack, user: str) -> None:
    """Sign in as `user` with the typed-name form and wait until the browser is registered."""
    page.goto(f"{stack.api}/app/")
    page.fill("#ecm-user", user)
    page.click("#sign-in button[type=submit]")
    page.wait_for_selector("body[data-registered=yes]", state="attached")


def _sign_in(page: Any, stack: RunningStack) -> str:
    """Sign in as USER with the typed-name form and wait until the browser is registered;
    the FCM token it registered."""
    page.goto(f"{stack.api}/app/")
    page.fill("#ecm-user", USER)
    with page.expect_request(lambda r: "/devices/" in r.url) as registration:
        page.click("#sign-in button[type=submit]")
    page.wait_for_selector("body[data-registered=yes]", state="attached")
    token: str = registration.value.post_data_json["token"]
    return token


OTDS_TASK = ("4789", "4789", "1")  # ids no other browser test uses


def test_signs_in_through_otds_registers_receives_and_replies(
    running_stack: RunningStack, browser: Any
) -> None:
    """Issue 24: "Sign in with OTDS" goes to the OTDS stand-in's sign-in page (authorization
    code + PKCE), comes back to the app with the code, which the sign-in bridge trades for a
    custom token; the page registers, receives the approval push and approves. The typed-name
    shortcut is never called. A reload afterwards does not replay the code."""
    _seed_task(running_stack, OTDS_TASK, "Approve OTDS rollout")
    context, page, errors, _ = _open_app(browser, running_stack)
    shortcut: list[str] = []
    context.on("request", lambda r: shortcut.append(r.url) if "/_devstack/" in r.url else None)
    try:
        page.goto(f"{running_stack.api}/app/")
        page.click("#otds-sign-in")
        page.wait_for_url(f"{running_stack.urls['ecm']}/otdsws/oauth2/auth?*")
        assert "code_challenge_method=S256" in page.url
        page.fill("input[name=username]", USER)
        page.fill("input[name=password]", f"{USER}-local")
        with page.expect_request(lambda r: "/devices/" in r.url):
            page.click("button[type=submit]")
        page.wait_for_selector("body[data-registered=yes]", state="attached")
        assert page.inner_text("#who") == USER
        assert "code=" not in page.url  # the single-use code is gone from the address

        _post(running_stack, _approval("evt-web-otds-0001", OTDS_TASK, "Approve OTDS rollout"))
        card = page.locator("[data-testid=push][data-type='task.assigned']")
        card.wait_for()
        card.locator("button[data-action=approve]").click()
        page.wait_for_selector("[data-testid=push][data-replied]")
        assert card.get_attribute("data-replied") == "yes", card.inner_text()
    finally:
        context.close()
    assert errors == []
    assert shortcut == []
    assert _ecm_task(running_stack, OTDS_TASK)["acted_by"] == USER


def test_otds_refusals_are_said_on_the_page(running_stack: RunningStack, browser: Any) -> None:
    """An OTDS user without a Content Server account, and an answer from OTDS this page never
    asked for (a forged or replayed callback), end signed out with the reason on screen."""
    context, page, errors, _ = _open_app(browser, running_stack)
    try:
        page.goto(f"{running_stack.api}/app/")
        page.click("#otds-sign-in")
        page.wait_for_url(f"{running_stack.urls['ecm']}/otdsws/oauth2/auth?*")
        page.fill("input[name=username]", "kpatel")
        page.fill("input[name=password]", "kpatel-local")
        page.click("button[type=submit]")
        page.wait_for_selector("#status[data-kind=error]")
        assert "no Content Server login" in page.inner_text("#status")
        assert page.get_attribute("body", "data-signed-in") == "no"

        page.goto(f"{running_stack.api}/app/?code=stolen&state=forged")
        page.wait_for_selector("#status[data-kind=error]")
        assert "not started here" in page.inner_text("#status")
        assert page.get_attribute("body", "data-signed-in") == "no"
    finally:
        context.close()
    assert errors == []


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
    context, page, errors, _ = _open_app(browser, running_stack, hidden=True)
    responses: list[str] = []
    page.on("request", lambda r: responses.append(r.url) if r.url.endswith("/responses") else None)
    try:
        _sign_in(page, running_stack)
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
        assert (
            item.locator("[data-testid=inbox-reply]").inner_text()
            == "You answered: Approve · sent to Content Server"
        )
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


LINKED = ("4793", "4793", "1")

APP_LABELS = ["Approve", "Reject", "Ask for info"]

# Labels a hostile payload might carry: a "Reject" button that approves, an "Approve" that rejects.
LYING_LABELS = [
    {"action": "approve", "title": "Reject"},
    {"action": "reject", "title": "Approve"},
    {"action": "request_info", "title": "Ask for info"},
]


def _payload_sent(stack: RunningStack, token: str, title: str) -> dict[str, Any]:
    """What the browser holding FCM `token` received for the push titled `title`: the FCM
    stand-in's record of the message, as the local push channel hands it to the page and the
    service worker."""
    (message,) = [
        record["message"]
        for record in stack.fcm_messages(token)
        if record.get("answer", {}).get("status") == 200
        and title in (record.get("message") or {}).get("data", {}).get("title", "")
    ]
    payload: dict[str, Any] = push_payload(message)
    return payload


# What the page and the worker say for a 202: applied at once, or queued when the Content
# Server stand-in was slow (a loaded machine) and the write-back worker applies it shortly.
ACCEPTED = {
    "applied": "Sent to Content Server.",
    "queued": "Saved; Content Server is busy, it will be applied shortly.",
}


def _sent_on(stack: RunningStack, task_ids: tuple[str, str, str]) -> dict[str, Any]:
    """The stand-in's task once a reply accepted with 202 has reached it (at once when it was
    applied, after the write-back worker's turn when it was queued)."""
    deadline = time.monotonic() + 60
    task = _ecm_task(stack, task_ids)
    while task["status"] != "completed" and time.monotonic() < deadline:
        time.sleep(0.2)
        task = _ecm_task(stack, task_ids)
    return task


def test_a_link_opens_the_card_but_only_a_tap_answers(
    running_stack: RunningStack, browser: Any
) -> None:
    """Issue 20, finding 5. A signed-in user opens `/app/#open=<payload>` naming `approve`, with
    the real payload of their push (valid action token) but a made-up title, labels that lie and
    action ids the app does not know: nothing is sent, neither to `POST /responses` nor on to
    Content Server, and no card shows the made-up words (a link names a push this browser kept,
    never carries one). The link the service worker builds (`#open=<id>&action=approve`) shows
    the kept card and sends nothing either. A hostile payload that reaches the service worker is
    drawn with the app's labels, in the notification and in the card a tap on it opens. The
    user's tap on the app's Reject button then rejects: the label is what is sent."""
    _seed_task(running_stack, LINKED, "Approve vendor contract")
    context, page, errors, replies = _open_app(browser, running_stack)

    def reload_with(fragment: str) -> None:
        page.evaluate("f => { location.hash = f; location.reload(); }", fragment)

    def nothing_sent() -> None:
        """After the page has signed in again, registered and read the inbox: no reply."""
        page.wait_for_selector("body[data-registered=yes]", state="attached")
        item = page.locator("[data-testid=inbox-item]", has_text="Approve vendor contract")
        item.wait_for()
        assert item.locator("[data-testid=inbox-reply]").count() == 0
        assert replies == []
        assert _ecm_task(running_stack, LINKED) == before

    try:
        token = _sign_in(page, running_stack)
        _post(running_stack, _approval("evt-web-link-0001", LINKED, "Approve vendor contract"))
        page.locator("[data-testid=push][data-type='task.assigned']").wait_for()
        payload = _payload_sent(running_stack, token, "Approve vendor contract")
        notification_id = payload["data"]["notification_id"]
        before = _ecm_task(running_stack, LINKED)
        forged = json.loads(json.dumps(payload))
        forged["notification"]["title"] = forged["data"]["title"] = "Approve lunch order"
        forged["notification"]["actions"] = LYING_LABELS
        forged["data"]["actions"] = "approve,reject,request_info,delegate_to_me,constructor"

        reload_with("open=" + quote(json.dumps({"payload": forged, "action": "approve"})))
        page.wait_for_selector("body[data-link=refused]", state="attached")
        nothing_sent()
        assert page.locator("[data-testid=push]", has_text="lunch").count() == 0
        # The push itself is still waiting, as it was before the reload: the app's buttons, on.
        card = page.locator(f"[data-testid=push][data-notification-id='{notification_id}']")
        assert "Approve vendor contract" in card.inner_text()
        assert card.locator(".actions button").all_inner_texts() == APP_LABELS
        assert card.locator("button:disabled").count() == 0
        assert card.locator("[data-testid=reply-result]").inner_text() == ""

        reload_with(f"open={notification_id}&action=approve")
        page.wait_for_selector("body[data-link=opened]", state="attached")
        nothing_sent()
        assert card.locator(".actions button").all_inner_texts() == APP_LABELS
        assert card.locator("button:disabled").count() == 0

        # A hostile payload in the service worker: the notification has the app's labels, and
        # a tap on it (not on a button) opens the card, with the app's labels, sending nothing.
        (worker,) = [w for w in context.service_workers if "firebase-messaging-sw.js" in w.url]
        page.evaluate(
            "p => navigator.serviceWorker.controller"
            ".postMessage({type: 'ecmpush-push', payload: p})",
            forged,
        )
        (shown,) = worker.evaluate(SHOWN, "Approve lunch order")
        assert shown["actions"] == [["approve", "Approve"], ["reject", "Reject"]]
        clicked = worker.evaluate(CLICK, {"title": shown["title"], "action": ""})
        assert clicked["found"], clicked
        assert clicked["replies"] == [], clicked
        card = page.locator(f"[data-testid=push][data-notification-id='{notification_id}']")
        page.locator("[data-testid=push]", has_text="Approve lunch order").wait_for()
        assert card.locator(".actions button").all_inner_texts() == APP_LABELS
        actions = card.locator(".actions button")
        assert [actions.nth(i).get_attribute("data-action") for i in range(3)] == [
            "approve",
            "reject",
            "request_info",
        ]
        assert card.locator("button:disabled").count() == 0
        assert replies == []
        assert _ecm_task(running_stack, LINKED) == before

        # The user's own tap on the app's Reject button rejects.
        card.locator("button[data-action=reject]").click()
        assert card.locator(".comment button").inner_text() == "Send: Reject"
        card.locator("[data-testid=reply-comment]").fill("Wrong vendor")
        card.locator(".comment button").click()
        page.wait_for_selector(
            f"[data-testid=push][data-notification-id='{notification_id}'][data-replied]"
        )
        assert card.get_attribute("data-replied") == "yes", card.inner_text()
    finally:
        context.close()
    assert errors == []
    assert [(r["action"], r.get("comment")) for r in replies] == [("reject", "Wrong vendor")]
    ecm_task = _sent_on(running_stack, LINKED)
    assert ecm_task["disposition_taken"] == "Reject"
    assert ecm_task["comments"][-1]["comment"].startswith("Wrong vendor — via ecmpush from web at ")


LONG_COMMENT = ("4794", "4794", "1")


def test_the_comment_box_stops_at_the_apis_limit(running_stack: RunningStack, browser: Any) -> None:
    """Issue 20, finding 11e: the comment box took 2,000 characters, `POST /responses` refuses
    more than 1,000 (a schema error after the user wrote it all). Issue 25: cutting a paste
    silently was no better. Typing 1,500 characters, the counter says 1500 / 1000 and sending is
    refused in the form in plain words, nothing sent; shortened to 1,000, the rejection with
    that comment reaches Content Server."""
    _seed_task(running_stack, LONG_COMMENT, "Approve fleet lease")
    context, page, _, replies = _open_app(browser, running_stack)
    try:
        _sign_in(page, running_stack)
        _post(running_stack, _approval("evt-web-long-0001", LONG_COMMENT, "Approve fleet lease"))
        card = page.locator("[data-testid=push][data-type='task.assigned']")
        card.wait_for()
        card.locator("button[data-action=reject]").click()
        box = card.locator("[data-testid=reply-comment]")
        assert card.locator("[data-testid=reply-counter]").inner_text() == "0 / 1000"
        box.click()
        page.keyboard.insert_text("x" * 1500)
        assert card.locator("[data-testid=reply-counter]").inner_text() == "1500 / 1000"
        card.locator(".comment button").click()
        assert card.locator("[data-testid=reply-result]").inner_text() == (
            "Your comment has 1500 characters; the most Content Server takes is 1000. "
            "Please shorten it."
        )
        assert replies == []
        box.fill("x" * MAX_COMMENT_CHARS)
        card.locator(".comment button").click()
        page.wait_for_selector("[data-testid=push][data-type='task.assigned'][data-replied]")
        assert card.get_attribute("data-replied") == "yes", card.inner_text()
    finally:
        context.close()
    ecm_task = _sent_on(running_stack, LONG_COMMENT)
    assert ecm_task["disposition_taken"] == "Reject"
    assert ecm_task["comments"][-1]["comment"].startswith("x" * 1000 + " — via ecmpush from web")


RETRIED = ("4795", "4795", "1")
BAD_GATEWAY_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


def test_settings_that_do_not_load_are_said_and_the_form_never_submits(
    running_stack: RunningStack, browser: Any
) -> None:
    """Issue 25: when config.json failed to load, the sign-in form did a native GET (the user
    name in the URL, a reload, no message). Now the page says why, the button stays disabled,
    and a submission the page did not start is cancelled."""
    context = browser.new_context()
    context.route(
        "**/app/config.json",
        lambda route: route.fulfill(status=502, content_type="text/html", body=BAD_GATEWAY_PAGE),
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(f"{running_stack.api}/app/")
        page.locator("#status[data-kind=error]").wait_for()
        assert page.inner_text("#status") == (
            "The app could not load its settings (config.json: HTTP 502). "
            "Reload the page to try again."
        )
        assert page.locator("#sign-in button[type=submit]").is_disabled()
        page.fill("#ecm-user", USER)
        page.press("#ecm-user", "Enter")
        # Whatever submits the form (here the form itself), the page cancels it.
        prevented = page.evaluate(
            """() => {
              let prevented = null;
              const form = document.getElementById('sign-in');
              form.addEventListener('submit', (event) => { prevented = event.defaultPrevented; });
              form.requestSubmit();
              return prevented;
            }"""
        )
        assert prevented is True
        assert page.evaluate("location.search") == ""
        assert page.inner_text("#status").startswith("The app could not load its settings")
    finally:
        context.close()
    assert errors == []


def test_a_reply_that_fails_comes_back_with_a_reason_and_a_retry(
    running_stack: RunningStack, browser: Any
) -> None:
    """Issue 25: with POST /responses unreachable the card stayed on "Sending…" with every
    button disabled, and an HTML 502 page showed as `Unexpected token '<'`. Now each failure
    ends in a sentence with the buttons back and "Try again", which sends the same answer once
    the API answers; an answer refused for good (409) keeps the buttons off."""
    _seed_task(running_stack, RETRIED, "Approve office move")
    context, page, errors, replies = _open_app(browser, running_stack)
    bad_gateway = {"status": 502, "content_type": "text/html", "body": BAD_GATEWAY_PAGE}
    try:
        # The inbox's first read meets a proxy's HTML error page.
        page.route("**/me/notifications*", lambda route: route.fulfill(**bad_gateway), times=1)
        page.goto(f"{running_stack.api}/app/")
        page.fill("#ecm-user", USER)
        with page.expect_request(lambda r: "/devices/" in r.url) as registration:
            page.click("#sign-in button[type=submit]")
        token = registration.value.post_data_json["token"]
        page.locator("#status[data-kind=error]").wait_for()
        assert page.inner_text("#status") == (
            "Inbox: The server is not answering right now (HTTP 502). Please try again in a moment."
        )

        _post(running_stack, _approval("evt-web-retry-0001", RETRIED, "Approve office move"))
        card = page.locator("[data-testid=push][data-type='task.assigned']")
        card.wait_for()
        result = card.locator("[data-testid=reply-result]")
        retry = card.locator("[data-testid=reply-retry]")

        page.route("**/responses", lambda route: route.abort("internetdisconnected"))
        card.locator("button[data-action=approve]").click()
        retry.wait_for()
        assert result.inner_text() == (
            "Approve: Could not reach the server. Check your connection and try again. Try again"
        )
        assert card.get_attribute("data-replied") == "failed"
        assert card.locator("button:disabled").count() == 0
        notification_id = card.get_attribute("data-notification-id")

        # A reload keeps the card that still waits for an answer, its buttons on.
        page.reload()
        page.wait_for_selector("body[data-registered=yes]", state="attached")
        assert card.get_attribute("data-notification-id") == notification_id
        assert card.locator("button:disabled").count() == 0
        assert result.inner_text() == ""

        page.unroute("**/responses")
        page.route("**/responses", lambda route: route.fulfill(**bad_gateway))
        card.locator("button[data-action=approve]").click()
        retry.wait_for()
        assert "Unexpected token" not in result.inner_text()
        assert result.inner_text() == (
            "Approve: The server is not answering right now (HTTP 502). "
            "Please try again in a moment. Try again"
        )
        assert card.locator("button:disabled").count() == 0
        assert _ecm_task(running_stack, RETRIED)["status"] != "completed"

        page.unroute("**/responses")
        retry.click()
        page.wait_for_selector("[data-testid=push][data-type='task.assigned'][data-replied=yes]")
        assert result.inner_text() in {f"Approve: {said}" for said in ACCEPTED.values()}
        assert retry.count() == 0
        assert card.locator(".actions button:enabled").count() == 0

        # Answered: a reload no longer shows it.
        page.reload()
        page.wait_for_selector("body[data-registered=yes]", state="attached")
        again = page.locator(f"[data-testid=push][data-notification-id='{notification_id}']")
        assert again.count() == 0

        # The same push again, opened from its notification: the API's 409 is final. The inbox
        # reads that opening the push starts are answered empty, so they cannot take the card
        # away (an answered push's card goes on the inbox's word) before the tap reaches the API.
        empty_inbox = {"notifications": [], "unread": 0, "next_cursor": None}
        page.route(
            "**/me/notifications?*",
            lambda route: route.fulfill(status=200, json=empty_inbox),
        )
        (worker,) = [w for w in context.service_workers if "firebase-messaging-sw.js" in w.url]
        page.evaluate(
            "p => navigator.serviceWorker.controller"
            ".postMessage({type: 'ecmpush-push', payload: p})",
            _payload_sent(running_stack, token, "Approve office move"),
        )
        (shown,) = worker.evaluate(SHOWN, "Approve office move")
        clicked = worker.evaluate(CLICK, {"title": shown["title"], "action": ""})
        assert clicked["found"], clicked
        again.locator("button[data-action=approve]").click()
        page.wait_for_selector("[data-testid=push][data-replied=failed]")
        assert again.locator("[data-testid=reply-result]").inner_text() == (
            "Approve: This notification was already answered or the task is closed."
        )
        assert again.locator("[data-testid=reply-retry]").count() == 0
        assert again.locator(".actions button:enabled").count() == 0
    finally:
        context.close()
    assert errors == []
    # Three attempts left the browser, one reached the API and was applied, the last was 409.
    assert [r["action"] for r in replies] == ["approve"] * 4
    ecm_task = _sent_on(running_stack, RETRIED)
    assert ecm_task["status"] == "completed"
    assert ecm_task["disposition_taken"] == "Approve"
    assert len([c for c in ecm_task["comments"] if "via ecmpush" in c["comment"]]) == 1


SW_RETRIED = ("4796", "4796", "1")


def test_a_notification_answer_that_fails_comes_back_with_its_buttons(
    running_stack: RunningStack, browser: Any
) -> None:
    """Issue 25, from the notification: Approve tapped while POST /responses is unreachable
    replaced the notification with an outcome line and no buttons. Now the notification comes
    back with its buttons and the reason, and the next tap sends the answer."""
    _seed_task(running_stack, SW_RETRIED, "Approve parking rules")
    context, page, _, _ = _open_app(browser, running_stack, hidden=True)
    try:
        _sign_in(page, running_stack)
        (worker,) = [w for w in context.service_workers if "firebase-messaging-sw.js" in w.url]
        _post(running_stack, _approval("evt-web-sw-0003", SW_RETRIED, "Approve parking rules"))
        title = "Approval needed: Approve parking rules"
        shown_first = worker.evaluate(SHOWN, title)
        assert len(shown_first) == 1, shown_first
        shown = shown_first[0]

        context.route("**/responses", lambda route: route.abort("internetdisconnected"))
        clicked = worker.evaluate(CLICK, {"title": title, "action": "approve"})
        assert len(clicked["replies"]) == 1, clicked
        reply = clicked["replies"][0]
        assert (reply["ok"], reply["status"]) == (False, 0)
        (again,) = worker.evaluate(SHOWN, title)
        assert (
            again["actions"] == shown["actions"] == [["approve", "Approve"], ["reject", "Reject"]]
        )
        assert again["body"] == (
            "Approve: Could not reach the server. Check your connection and try again."
        )
        assert _ecm_task(running_stack, SW_RETRIED)["status"] != "completed"

        context.unroute("**/responses")
        clicked = worker.evaluate(CLICK, {"title": title, "action": "approve"})
        assert len(clicked["replies"]) == 1, clicked
        reply = clicked["replies"][0]
        assert (reply["ok"], reply["status"]) == (True, 202)
        (outcome,) = worker.evaluate(SHOWN, f"Approve: {title}")
        assert outcome["body"] == ACCEPTED[reply["body"]["status"]]
        assert outcome["actions"] == []
    finally:
        context.close()
    ecm_task = _sent_on(running_stack, SW_RETRIED)
    assert ecm_task["status"] == "completed"
    assert ecm_task["disposition_taken"] == "Approve"


ELSEWHERE = ("4797", "4797", "1")


def test_a_card_answered_on_another_device_is_gone_after_a_reload(
    running_stack: RunningStack, browser: Any
) -> None:
    """Cards waiting for an answer are kept across reloads; one answered meanwhile on another
    device (here: the API called directly with the user's ID token) is not brought back: the
    inbox says it is answered, and the page forgets it."""
    _seed_task(running_stack, ELSEWHERE, "Approve canteen menu")
    context = browser.new_context()
    context.grant_permissions(["notifications"], origin=running_stack.api)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        token = _sign_in(page, running_stack)
        _post(running_stack, _approval("evt-web-elsewhere-01", ELSEWHERE, "Approve canteen menu"))
        page.locator("[data-testid=push][data-type='task.assigned']").wait_for()
        payload = _payload_sent(running_stack, token, "Approve canteen menu")
        notification_id = payload["data"]["notification_id"]
        assert page.evaluate(KEPT) == [notification_id]

        answered = requests.post(
            f"{running_stack.api}/responses",
            headers={"Authorization": f"Bearer {running_stack.token(USER)}"},
            json={"action_token": payload["data"]["action_token"], "action": "approve"},
            timeout=60,
        )
        assert answered.status_code == 202, answered.text

        page.reload()
        item = page.locator("[data-testid=inbox-item]", has_text="Approve canteen menu")
        item.locator("[data-testid=inbox-reply]").wait_for()
        card = page.locator(f"[data-testid=push][data-notification-id='{notification_id}']")
        assert card.count() == 0
        assert page.evaluate(KEPT) == []
    finally:
        context.close()


# --- not seen → the next person, and snooze (issue 23 items 3 and 4) ---------------------------

NOT_SEEN = ("4785", "4785", "1")  # ids no other browser test uses
SNOOZED = ("4786", "4786", "1")
ASMITH_TOKEN = "fcm-e2e-asmith-android-not-seen-0001"


def _sweep_sla(stack: RunningStack, at: datetime) -> dict[str, Any]:
    """The SLA sweep as of `at`, as the demo drives it (the local stack's clock override)."""
    answer = requests.post(
        f"{stack.api}/_devstack/sweeps/sla", json={"at": rfc3339(at)}, timeout=120
    )
    assert answer.ok, answer.text
    result: dict[str, Any] = answer.json()["result"]
    return result


def _fcm_data(stack: RunningStack, token: str) -> list[dict[str, str]]:
    return [
        record["message"]["data"]
        for record in stack.fcm_messages(token)
        if record.get("answer", {}).get("status") == 200
    ]


def _wait_for_push(stack: RunningStack, token: str, kind: str, title: str) -> dict[str, str]:
    deadline = time.monotonic() + 60
    while True:
        found = [d for d in _fcm_data(stack, token) if d["type"] == kind and title in d["title"]]
        if found or time.monotonic() > deadline:
            assert found, f"no {kind} push {title!r} for {token}"
            return found[-1]
        time.sleep(0.2)


def test_a_push_nobody_saw_is_reminded_then_escalated_early_to_the_deputy(
    running_stack: RunningStack, browser: Any
) -> None:
    """asmith's phone gets the approval and never displays it (no receipt): an hour later (the
    local routing's `unseen` time for a high-priority approval) the sweep reminds asmith, four
    hours after that it escalates early; bjones, asmith's configured deputy, gets the card with
    the step's buttons in the browser."""
    title = "Approve vendor onboarding"
    _seed_task(running_stack, NOT_SEEN, title, assignee="asmith")
    registered = requests.put(
        f"{running_stack.api}/devices/asmith-android-not-seen-4b7e1c9a",
        headers={"Authorization": f"Bearer {running_stack.token('asmith')}"},
        json={"token": ASMITH_TOKEN, "platform": "android", "locale": "en-GB"},
        timeout=30,
    )
    assert registered.status_code in (200, 201), registered.text
    context, page, errors, _ = _open_app(browser, running_stack)
    try:
        _sign_in(page, running_stack)
        sent = datetime.now(UTC)
        event = _approval("evt-web-not-seen-01", NOT_SEEN, title)
        event["data"]["assignee"] = {"user_id": "asmith"}
        _post(running_stack, event)
        _wait_for_push(running_stack, ASMITH_TOKEN, "task.assigned", title)

        reminded = _sweep_sla(running_stack, sent + timedelta(hours=1, minutes=5))
        assert reminded["not_seen_reminders"] >= 1, json.dumps(reminded)
        reminder = _wait_for_push(running_stack, ASMITH_TOKEN, "sla.reminder", title)
        assert reminder["reason"] == "not_seen"
        assert reminder["actions"] == "approve,reject,request_info"

        escalated = _sweep_sla(running_stack, sent + timedelta(hours=5, minutes=10))
        assert escalated["not_seen_escalations"] >= 1, escalated
        card = page.locator(
            "[data-testid=push][data-type='sla.escalation']",
            has_text=f"Not seen by asmith: {title}",
        )
        card.wait_for()
        assert card.locator(".actions button").all_inner_texts() == [
            "Approve",
            "Reject",
            "Ask for info",
        ]
        assert card.locator("[data-testid=snooze]").count() == 0  # only the assignee snoozes
        page.screenshot(path=IMAGES / "web-not-seen-escalation.png")
    finally:
        context.close()
    assert errors == []
    assert [d["type"] for d in _fcm_data(running_stack, ASMITH_TOKEN) if title in d["title"]] == [
        "task.assigned",
        "sla.reminder",
    ]  # the assignee is reminded once, never escalated to
    status = devstack(running_stack.state_dir, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["process"]["not_seen"]["escalations"] >= 1


def test_remind_me_later_from_the_card_brings_the_push_back(
    running_stack: RunningStack, browser: Any
) -> None:
    title = "Approve travel request"
    _seed_task(running_stack, SNOOZED, title)
    context, page, errors, replies = _open_app(browser, running_stack)
    try:
        _sign_in(page, running_stack)
        _post(running_stack, _approval("evt-web-snooze-01", SNOOZED, title))
        card = page.locator("[data-testid=push][data-type='task.assigned']", has_text=title)
        card.wait_for()
        card.locator("[data-testid=snooze] button[data-snooze='1h']").click()
        said = card.locator("[data-testid=snooze-result]")
        page.wait_for_function(
            "el => el.textContent.startsWith('We will remind you again on ')",
            arg=said.element_handle(),
        )
        assert card.get_attribute("data-snoozed") == "yes"
        assert card.locator(".actions button[data-action=approve]").is_disabled()
        [snooze] = [r for r in replies if r and r.get("action") == "snooze"]
        assert snooze["snooze"] == "1h"

        _sweep_sla(running_stack, datetime.now(UTC) + timedelta(hours=1, minutes=1))
        back = page.locator("[data-testid=push][data-type='task.snoozed']", has_text=title)
        back.wait_for()
        assert back.locator("h3").inner_text() == f"Reminder: {title}"
        back.locator("button[data-action=approve]").click()
        page.wait_for_selector("[data-testid=push][data-type='task.snoozed'][data-replied]")
        assert back.get_attribute("data-replied") == "yes", back.inner_text()
    finally:
        context.close()
    assert errors == []
    assert _sent_on(running_stack, SNOOZED)["disposition_taken"] == "Approve"


RECEIPTS_TASK = ("4780", "4780", "1")  # used by no other browser test

# Run in the service worker: the notification titled `title` closed without a tap, dispatched to
# the worker's own `notificationclose` listener (its waitUntil promises awaited, as in CLICK).
CLOSE = """async (title) => {
  const [notification] = (await self.registration.getNotifications())
    .filter((n) => n.title === title);
  if (!notification) return {found: false};
  const waits = [];
  const event = new NotificationEvent('notificationclose', {notification});
  Object.defineProperty(event, 'waitUntil', {value: (promise) => { waits.push(promise); }});
  self.dispatchEvent(event);
  await Promise.allSettled(waits);
  return {found: true, waited: waits.length};
}"""


def _my_delivery(
    stack: RunningStack, token: str, notification_id: str, installation_id: str, *receipts: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The inbox entry of `notification_id` and its delivery to `installation_id`, once every
    receipt named has reached the server (the worker retries while Dispatch saves FCM's answer)."""
    deadline = time.monotonic() + 60
    while True:
        answer = requests.get(
            f"{stack.api}/me/notifications",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert answer.ok, answer.text
        entries = [
            n for n in answer.json()["notifications"] if n["notification_id"] == notification_id
        ]
        deliveries = [
            d for e in entries for d in e["deliveries"] if d["installation_id"] == installation_id
        ]
        if deliveries and all(deliveries[0].get(f"{r}_at") for r in receipts):
            return entries[0], deliveries[0]
        assert time.monotonic() < deadline, (receipts, entries)
        time.sleep(0.5)


def test_receipts_from_the_service_worker_reach_the_inbox_and_the_timeline(
    running_stack: RunningStack, browser: Any
) -> None:
    """The page is hidden: the worker shows the push and reports `received` and `displayed`
    (sent again while the server still says "not sent yet"); closing the notification reports
    `dismissed`, a tap on it `opened` and marks it read. The inbox shows them for this browser
    and the unread count drops; `python -m devstack timeline` lists them after FCM's acceptance."""
    _seed_task(running_stack, RECEIPTS_TASK, "Approve receipts policy")
    context, page, errors, _ = _open_app(browser, running_stack, hidden=True)
    try:
        _sign_in(page, running_stack)
        installation_id = page.evaluate("localStorage.getItem('ecmpush.installation_id')")
        (worker,) = [w for w in context.service_workers if "firebase-messaging-sw.js" in w.url]
        _post(
            running_stack,
            _approval("evt-web-receipts-0001", RECEIPTS_TASK, "Approve receipts policy"),
        )
        title = "Approval needed: Approve receipts policy"
        (shown,) = worker.evaluate(SHOWN, title)
        nid = shown["notificationId"]
        token = running_stack.token(USER)
        entry, delivery = _my_delivery(
            running_stack, token, nid, installation_id, "received", "displayed"
        )
        assert entry["read"] is False
        assert delivery["opened_at"] is None
        unread_before = requests.get(
            f"{running_stack.api}/me/notifications",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ).json()["unread"]
        assert unread_before >= 1

        closed = worker.evaluate(CLOSE, title)
        assert closed == {"found": True, "waited": 1}, closed
        clicked = worker.evaluate(CLICK, {"title": title, "action": ""})
        assert clicked["found"], clicked
        assert clicked["replies"] == [], clicked  # a tap on the body answers nothing
        entry, delivery = _my_delivery(
            running_stack, token, nid, installation_id, "dismissed", "opened"
        )
        assert entry["read"] is True
        assert delivery["received_at"] <= delivery["displayed_at"] <= delivery["opened_at"]
        # The page shows the receipts and the read mark in its inbox (once a reload of the
        # inbox started after the tap has drawn it).
        states = "This browser: opened"  # the furthest the push got, in plain words
        item = page.locator(f"[data-testid=inbox-item][data-notification-id='{nid}']")
        for _ in range(60):
            page.click("#refresh")
            if states in item.inner_text() and item.get_attribute("data-read") == "yes":
                break
            time.sleep(0.5)
        assert states in item.inner_text()
        assert item.get_attribute("data-read") == "yes"
    finally:
        context.close()
    assert errors == []

    result = devstack(running_stack.state_dir, "timeline", nid, "--json")
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    mine = [e["what"] for e in entries if e["device"] in (installation_id, "")]
    # FCM's acceptance is dated when Dispatch recorded the answer, which a fast device's
    # `received` may precede by milliseconds (docs/operations.md): only its presence is checked.
    assert mine[0] == "created"
    assert "accepted by FCM" in mine
    for earlier, later in (("received", "displayed"), ("displayed", "dismissed")):
        assert mine.index(earlier) < mine.index(later), mine
    assert "opened" in mine
    assert any(e["what"] == "marked read" and e["who"] == USER for e in entries)
