"""The approver's app (issue 25) in headless Chromium against the local stack, at phone size
(390 by 844) and on desktop: what is waiting for me with an overdue step, the task view with the
reply buttons of the step's push, a field push's document opened in the app (and refused for a
user Content Server does not allow), the API down without anything stuck, a reply tapped
offline sent when the network is back (by the page, and by the service worker's Background Sync
with the page closed), a 409 explained, a too long comment refused before sending, and the page
in German and French. axe-core (clients/web/node_modules, pinned in package-lock.json) checks
every screen; each state is a screenshot in .build/screenshots/."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from devstack.demo import approval_event
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import RunningStack
from tests.e2e.test_web_client import (
    IMAGES,
    TIMEOUT_MS,
    _ecm_task,
    _open_app,
    _post,
    _sign_in_as,
    browser,
)

pytestmark = pytest.mark.e2e
__all__ = ["browser"]  # the module's fixture, shared

AXE = REPO_ROOT / "clients" / "web" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
APPROVER = "asmith"
LATE = ("4801", "4801", "1")  # overdue, seeded below for these tests alone
OFFLINE = ("4802", "4802", "1")
SYNCED = ("4803", "4803", "1")
SPOKEN = {"de": ("4804", "4804", "1"), "fr": ("4805", "4805", "1")}


def _ago(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seed(
    stack: RunningStack, ids: tuple[str, str, str], title: str, assignee: str, due: str
) -> None:
    process, subprocess, task = (int(part) for part in ids)
    seeded = requests.post(
        f"{stack.urls['ecm']}/_inspect/seed",
        json={
            "tasks": [
                {
                    "process_id": process,
                    "subprocess_id": subprocess,
                    "task_id": task,
                    "stage": "approval",
                    "title": title,
                    "assignee": assignee,
                    "initiator": "bjones",
                    "instructions": "Check the liability cap in section 7 before approving.",
                    "document_node_id": 90210,
                    "due_date": due,
                    "priority": "high",
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


def _assigned(
    event_id: str, ids: tuple[str, str, str], title: str, assignee: str, due: str
) -> dict[str, Any]:
    event = approval_event(event_id)
    process, subprocess, task = ids
    event["data"]["task"].update(
        process_id=process, subprocess_id=subprocess, task_id=task, title=title, due_at=due
    )
    event["data"]["assignee"] = {"user_id": assignee}
    event["data"].pop("supervisor")
    return event


def _field_push(event_id: str, user: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        (REPO_ROOT / "events" / "ecm" / "document_available.json").read_text()
    )
    event["id"] = event_id
    event["data"]["audience"] = {"users": [{"user_id": user}]}
    return event


def _open(
    browser: Any, stack: RunningStack, viewport: dict[str, int], locale: str = "en-GB"
) -> tuple[Any, Any, list[str], list[Any]]:
    """`_open_app` as Chrome has it: Background Sync allowed unless the user turned it off (a
    Playwright context allows only what it is granted)."""
    return _open_app(browser, stack, viewport=viewport, locale=locale, background_sync=True)


def _axe(page: Any) -> list[str]:
    """axe-core's violations on the page as shown (WCAG 2.x A/AA, 2.2 target size, best
    practice)."""
    page.add_script_tag(path=str(AXE))
    found: list[str] = page.evaluate(
        """() => axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa', 'wcag22aa',
              'best-practice']})
            .then(r => r.violations.map(v =>
              `${v.id}: ${v.nodes.map(n => n.target.join(' ')).join(', ')}`))"""
    )
    return found


def _shot(page: Any, name: str) -> None:
    page.screenshot(path=IMAGES / f"web-{name}.png", full_page=True)
    assert _axe(page) == [], name


def test_waiting_list_task_view_and_reply(running_stack: RunningStack, browser: Any) -> None:
    """The default screen lists the steps waiting in Content Server, the overdue one marked;
    tapping it opens the task view with the push's reply buttons; a comment over the API's
    limit is refused in the form with nothing sent, and Approve sends the step on."""
    due = _ago(-2)
    title = "Approve supplier contract LATE-1"
    _seed(running_stack, LATE, title, APPROVER, due)
    context, page, errors, replies = _open(browser, running_stack, PHONE)
    try:
        _sign_in_as(page, running_stack, APPROVER)
        _post(running_stack, _assigned("evt-web-approver-0001", LATE, title, APPROVER, due))
        page.locator("[data-testid=push][data-type='task.assigned']").wait_for()
        page.click("#refresh-waiting")
        step = page.locator("[data-testid=waiting-step][data-step='4801/4801/1']")
        step.wait_for()
        assert step.get_attribute("data-overdue") == "yes"
        assert "Overdue" in step.inner_text()
        assert "High priority" in step.inner_text()
        _shot(page, "5-waiting")

        step.locator("button").click()
        view = page.locator("[data-testid=task-view]")
        view.wait_for()
        assert "Check the liability cap" in view.inner_text()
        # What happened so far, in plain words (not "push task.assigned").
        assert "Notification sent" in view.locator("ol.history").inner_text()
        assert "task.assigned" not in view.inner_text()
        reply = view.locator("[data-testid=task-reply] [data-testid=push]")
        labels = reply.locator(".actions button").all_inner_texts()
        assert labels == ["Approve", "Reject", "Ask for info"]
        _shot(page, "6-task")

        reply.locator("button[data-action=reject]").click()
        reply.locator("[data-testid=reply-comment]").fill("x" * 1500)
        reply.locator(".comment button.primary").click()
        result = reply.locator("[data-testid=reply-result]")
        assert "1500 characters" in result.inner_text()
        assert replies == []

        reply.locator("[data-testid=reply-comment]").fill("")
        reply.locator("button[data-action=approve]").click()
        page.locator("[data-testid=task-reply] [data-testid=push][data-replied=yes]").wait_for()
    finally:
        context.close()
    assert errors == []
    assert [r["action"] for r in replies] == ["approve"]
    assert _ecm_task(running_stack, LATE)["disposition_taken"] == "Approve"


@pytest.mark.parametrize(("user", "state"), [("cwu", "shown"), (APPROVER, "refused")])
def test_document_from_a_field_push(
    running_stack: RunningStack, browser: Any, user: str, state: str
) -> None:
    """A field push's document opens in the app for cwu (Field Operations may open node 88001)
    and is kept for offline use, deleted on sign-out; asmith, whom Content Server refuses the
    contents, reads why."""
    context, page, errors, _ = _open(browser, running_stack, PHONE)
    try:
        _sign_in_as(page, running_stack, user)
        _post(running_stack, _field_push(f"evt-web-field-{user}", user))
        card = page.locator("[data-testid=push][data-type='document.available']")
        card.locator("[data-testid=push-document]").click()
        document = page.locator(f"[data-testid=document][data-state={state}]")
        document.wait_for()
        if state == "refused":
            assert document.inner_text().endswith(
                "Content Server does not let you open this document."
            )
            _shot(page, "8-document-refused")
            return
        assert document.locator("iframe").get_attribute("title") == (
            "Lockout-tagout procedure rev. 7"
        )
        # The frame shows the document's own bytes (Content Server's PDF), from a blob URL.
        head = page.evaluate(
            """() => fetch(document.querySelector('[data-testid=document] iframe').src)
                .then(r => r.text()).then(t => t.slice(0, 5))"""
        )
        assert head == "%PDF-"
        # Beside the viewer, a "Download" link to the same bytes, named as a PDF.
        download = document.locator("[data-testid=document-download]")
        assert download.get_attribute("download") == "Lockout-tagout procedure rev. 7.pdf"
        assert download.get_attribute("href") == document.locator("iframe").get_attribute("src")
        _shot(page, "7-document")
        # Offline, the copy kept on the device is shown; sign-out deletes it.
        page.click("[data-testid=back]")
        context.set_offline(True)
        card.locator("[data-testid=push-document]").click()
        page.locator("[data-testid=document][data-state=kept]").wait_for()
        context.set_offline(False)
        page.click("[data-testid=back]")
        page.click("#sign-out")
        page.wait_for_selector("body[data-signed-in=no]", state="attached")
        assert page.evaluate("caches.has('ecmpush-documents-v1')") is False
    finally:
        context.close()
    assert errors == []


def test_api_down_then_back(running_stack: RunningStack, browser: Any) -> None:
    """With /me/tasks unreachable the list says so (nothing stuck on "Loading"); Refresh reads it
    once the API answers."""
    context, page, errors, _ = _open(browser, running_stack, DESKTOP)
    try:
        page.route("**/me/tasks", lambda route: route.abort("internetdisconnected"))
        _sign_in_as(page, running_stack, APPROVER)
        page.locator("#status[data-kind=error]").wait_for()
        assert "Could not reach the server" in page.inner_text("#status")
        assert page.locator("#waiting-empty").is_hidden()
        _shot(page, "9-api-down")
        page.unroute("**/me/tasks")
        page.click("#refresh-waiting")
        page.locator("[data-testid=waiting-step]").first.wait_for()
    finally:
        context.close()
    assert errors == []


def test_offline_reply_waits_and_goes_when_back_then_409(
    running_stack: RunningStack, browser: Any
) -> None:
    """Approve tapped offline waits on the device as "waiting to send" and goes when the
    network is back; the task is sent on in Content Server. The same push in a second browser's
    outbox (sent when its page opens) meets a 409: explained, and nothing is retried."""
    due = _ago(3)
    title = "Approve site access OFF-1"
    _seed(running_stack, OFFLINE, title, APPROVER, due)
    context, page, errors, replies = _open(browser, running_stack, DESKTOP)
    try:
        _sign_in_as(page, running_stack, APPROVER)
        _post(running_stack, _assigned("evt-web-approver-0002", OFFLINE, title, APPROVER, due))
        card = page.locator("[data-testid=push][data-type='task.assigned']", has_text=title)
        card.wait_for()
        context.set_offline(True)
        card.locator("button[data-action=approve]").click()
        page.locator("[data-testid=push][data-replied=waiting]").wait_for()
        assert "Waiting to send" in card.locator("[data-testid=reply-result]").inner_text()
        _shot(page, "10-offline-waiting")
        assert replies == []
        context.set_offline(False)
        page.locator("[data-testid=push][data-replied=yes]", has_text=title).wait_for()
        _shot(page, "11-offline-sent")
        assert [r["action"] for r in replies] == ["approve"]
        token = replies[0]["action_token"]
    finally:
        context.close()
    assert errors == []
    assert _ecm_task(running_stack, OFFLINE)["disposition_taken"] == "Approve"

    # The same push answered again (another device kept it): 409, explained, no retry.
    context, page, errors, replies = _open(browser, running_stack, DESKTOP)
    try:
        _sign_in_as(page, running_stack, APPROVER)
        page.evaluate(
            """async ([token, title]) => {
              const store = await caches.open('ecmpush-pushes-v1');
              const payload = {notification: {title}, data: {notification_id: 'again',
                type: 'task.assigned', actions: 'approve,reject', action_token: token}};
              await store.put(`${location.origin}/_ecmpush/pushes/again`,
                new Response(JSON.stringify({payload, keptAt: Date.now()})));
              const outbox = await caches.open('ecmpush-outbox-v1');
              await outbox.put(`${location.origin}/_ecmpush/outbox/again`,
                new Response(JSON.stringify({notificationId: 'again', action: 'approve'})));
            }""",
            [token, title],
        )
        page.reload()
        card = page.locator("[data-testid=push][data-notification-id=again]")
        card.locator("[data-testid=reply-result]", has_text="already answered").wait_for()
        assert card.locator("[data-testid=reply-retry]").count() == 0
        assert card.locator("button[data-action=approve]").is_disabled()
        _shot(page, "12-conflict")
    finally:
        context.close()
    assert errors == []


def test_pdf_without_a_viewer_offers_download(running_stack: RunningStack, browser: Any) -> None:
    """A browser that shows no PDF inline (`navigator.pdfViewerEnabled` false, as on phones)
    gets no empty frame: a sentence and the "Download" link to the document's bytes."""
    context, page, errors, _ = _open(browser, running_stack, PHONE)
    try:
        page.add_init_script(
            "Object.defineProperty(Navigator.prototype, 'pdfViewerEnabled', {get: () => false})"
        )
        _sign_in_as(page, running_stack, "cwu")
        _post(running_stack, _field_push("evt-web-field-no-viewer", "cwu"))
        card = page.locator("[data-testid=push][data-type='document.available']")
        card.locator("[data-testid=push-document]").click()
        document = page.locator("[data-testid=document][data-state=shown]")
        document.wait_for()
        assert document.locator("iframe").count() == 0
        assert "cannot show PDFs inside the app" in document.inner_text()
        head = page.evaluate(
            """() => fetch(document.querySelector('[data-testid=document-download]').href)
                .then(r => r.text()).then(t => t.slice(0, 5))"""
        )
        assert head == "%PDF-"
        _shot(page, "7-document-download")
    finally:
        context.close()
    assert errors == []


SYNC_TAGS = "async () => (await navigator.serviceWorker.getRegistration()).sync.getTags()"


def _wait_for_disposition(
    stack: RunningStack, ids: tuple[str, str, str], tries: int = 60
) -> dict[str, Any]:
    for _ in range(tries):
        task = _ecm_task(stack, ids)
        if task.get("disposition_taken"):
            return task
        time.sleep(0.5)
    return _ecm_task(stack, ids)


def test_offline_reply_goes_from_the_service_worker_with_the_page_closed(
    running_stack: RunningStack, browser: Any
) -> None:
    """Approve tapped offline asks for a Background Sync; the page is closed, the network comes
    back, and the service worker's `sync` sends the reply from the outbox (outbox.js): Content
    Server sends the task on, once, although the page never opened again; the outbox is empty."""
    due = _ago(3)
    title = "Approve site access SYNC-1"
    _seed(running_stack, SYNCED, title, APPROVER, due)
    context, page, errors, replies = _open(browser, running_stack, DESKTOP)
    try:
        _sign_in_as(page, running_stack, APPROVER)
        _post(running_stack, _assigned("evt-web-approver-0003", SYNCED, title, APPROVER, due))
        card = page.locator("[data-testid=push][data-type='task.assigned']", has_text=title)
        card.wait_for()
        context.set_offline(True)
        card.locator("button[data-action=approve]").click()
        page.locator("[data-testid=push][data-replied=waiting][data-sync]").wait_for()
        assert card.get_attribute("data-sync") == "asked"
        assert "ecmpush-replies" in page.evaluate(SYNC_TAGS)
        page.close()
        context.set_offline(False)
        # Headless Chromium fires `sync` itself when the network is back, the page closed.
        task = _wait_for_disposition(running_stack, SYNCED)
        assert replies == []  # none from the page (the worker's requests are not listed here)
        checker = context.new_page()
        checker.goto(f"{running_stack.api}/app/config.json")
        assert (
            checker.evaluate(
                "async () => (await (await caches.open('ecmpush-outbox-v1')).keys()).length"
            )
            == 0
        )
    finally:
        context.close()
    assert errors == []
    assert task["disposition_taken"] == "Approve"
    assert [c["action"] for c in task["comments"]] == ["Approve"]  # sent once


@pytest.mark.parametrize(
    ("locale", "waiting", "overdue", "approvals", "later", "shown"),
    [
        (
            "de-DE",
            "Wartet auf mich",
            "Überfällig",
            "Genehmigungen",
            ("Später erinnern:", "In 1 Stunde", "Morgen früh"),
            "Dieser Browser: angezeigt",
        ),
        (
            "fr-FR",
            "En attente de moi",
            "En retard",
            "Approbations",
            ("Me le rappeler plus tard :", "Dans 1 heure", "Demain matin"),
            "Ce navigateur : affiché",
        ),
    ],
)
def test_page_in_the_users_language(
    running_stack: RunningStack,
    browser: Any,
    locale: str,
    waiting: str,
    overdue: str,
    approvals: str,
    later: tuple[str, str, str],
    shown: str,
) -> None:
    """The browser asks for German or French: the page speaks it, down to the card's "remind me
    later" control and the inbox's line saying where the push got."""
    language = locale[:2]
    due = _ago(2)
    title = f"Approve site access LANG-{language}"
    _seed(running_stack, SPOKEN[language], title, APPROVER, due)
    context, page, errors, _ = _open(browser, running_stack, PHONE, locale=locale)
    try:
        _sign_in_as(page, running_stack, APPROVER)
        _post(
            running_stack,
            _assigned(f"evt-web-approver-lang-{language}", SPOKEN[language], title, APPROVER, due),
        )
        card = page.locator("[data-testid=push][data-type='task.assigned']", has_text=title)
        snooze = card.locator("[data-testid=snooze]")
        snooze.wait_for()
        prompt, in_an_hour, tomorrow = later
        assert snooze.inner_text().startswith(prompt)
        assert snooze.locator("button").all_inner_texts() == [in_an_hour, tomorrow]
        item = page.locator("[data-testid=inbox-item]", has_text=title)
        for _ in range(60):  # receipts reach the inbox once Dispatch has recorded FCM's answer
            page.click("#refresh")
            if shown in item.locator("[data-testid=inbox-delivery]").inner_text():
                break
            time.sleep(0.5)
        assert shown in item.locator("[data-testid=inbox-delivery]").inner_text()
        page.locator("[data-testid=waiting-step]").first.wait_for()
        assert page.evaluate("document.documentElement.lang") == locale[:2]
        assert waiting in page.inner_text("#waiting h2")
        assert overdue in page.inner_text("#waiting-list")
        page.locator("#categories label").first.wait_for()
        assert approvals in page.inner_text("#categories")  # not the category id "approval"
        _shot(page, f"13-{locale[:2]}")
    finally:
        context.close()
    assert errors == []


def test_iphone_safari_says_add_to_home_screen(running_stack: RunningStack, browser: Any) -> None:
    """Not installed on iPhone: the app says pushes need "Add to Home Screen" and asks nothing."""
    context = browser.new_context(
        viewport=PHONE,
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        page.goto(f"{running_stack.api}/app/")
        page.fill("#ecm-user", APPROVER)
        page.click("#sign-in button[type=submit]")
        page.locator("[data-testid=ios-hint]").wait_for()
        assert "Add to Home Screen" in page.inner_text("[data-testid=ios-hint]")
        assert page.locator("#permission").is_hidden()
        assert page.evaluate("Notification.permission") == "default"
        _shot(page, "14-iphone")
    finally:
        context.close()
