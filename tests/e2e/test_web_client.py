"""The web client in a real browser (headless Chromium from Debian, driven by Playwright) against
the local stack: sign in, register, receive the approval push, tap Approve, see the reply in the
inbox and the Content Server stand-in's task sent on. Screenshots of each step go to
docs/images/ (the README shows them)."""

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
IMAGES = REPO_ROOT / "docs" / "images"
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


def _seed_task(stack: RunningStack) -> None:
    process, subprocess, task = (int(part) for part in TASK)
    seeded = requests.post(
        f"{stack.urls['ecm']}/_inspect/seed",
        json={
            "tasks": [
                {
                    "process_id": process,
                    "subprocess_id": subprocess,
                    "task_id": task,
                    "stage": "approval",
                    "title": "Approve budget FY27",
                    "assignee": USER,
                    "initiator": "asmith",
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


def _approval(event_id: str) -> dict[str, Any]:
    event = approval_event(event_id)
    process, subprocess, task = TASK
    event["data"]["task"].update(
        process_id=process, subprocess_id=subprocess, task_id=task, title="Approve budget FY27"
    )
    event["data"]["assignee"] = {"user_id": USER}
    event["data"].pop("supervisor")
    return event


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

        secret = (running_stack.state_dir / "webhook_secret").read_text().strip()
        api_key = (running_stack.state_dir / "webhook_api_key").read_text().strip()
        accepted = post_event(
            running_stack.api, secret, _approval("evt-web-client-0001"), api_key=api_key
        )
        assert accepted.status_code == 202, accepted.text
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

    process, subprocess, task = TASK
    ecm_task = requests.get(
        f"{running_stack.urls['ecm']}/_inspect/tasks/{process}/{subprocess}/{task}", timeout=10
    ).json()
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
