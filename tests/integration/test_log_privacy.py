"""Issue 9, finding 7 (personal data): ECM login names never reach the logs. The write-back path
(a reply applied at once, one queued through an ECM outage and applied later, one Content
Server refuses because the step is another user's) logs with every logger at DEBUG, as Lambda
runs with LogLevel=DEBUG; no record names a login, and the pseudonym is there instead, so the
lines of one user can still be followed."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator

import pytest

from ecmpush.privacy import pseudonym, who
from tests.integration.harness import Harness
from tests.integration.test_response_callback import (
    APPROVAL,
    REVIEW,
    _answer,
    _ecm_task,
    _no_backoff,
    _push,
)

LOGINS = ("asmith", "bjones", "cwu")
# ecmpush's code and Powertools (whose batch processor logs the exceptions of failed records).
OUR_LOGGERS = ("ecmpush", "aws_lambda_powertools", "_fn_", "functions")
_STANDARD = set(vars(logging.LogRecord("x", 0, "x", 0, "x", None, None)))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(OUR_LOGGERS):
            return  # moto's and the stand-ins' own chatter
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        text = f"{record.name} {record.getMessage()} {extras}"
        if record.exc_info:
            text += " " + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@pytest.fixture
def logs() -> Iterator[_Collect]:
    handler = _Collect()
    # The root logger (the adapters' stdlib loggers) and Powertools' "ecmpush" service logger,
    # which does not propagate.
    loggers = [logging.getLogger(), logging.getLogger("ecmpush")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def test_write_back_logs_pseudonyms_not_login_names(
    harness: Harness, logs: _Collect, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_backoff(harness, monkeypatch)
    applied = _push(harness, APPROVAL)
    queued = _push(harness, REVIEW)
    # asmith is told of a step that is bjones's in Content Server.
    foreign = _push(harness, (("4713", "4713", "2"), "approval", "asmith"), 2)

    assert _answer(harness, applied, "approve", "asmith", "ok").status == 202
    harness.ecm.outage(3600)
    assert _answer(harness, queued, "acknowledge", "cwu").body["status"] == "queued"
    harness.drain_write_back(rounds=1)
    harness.ecm.outage(0)
    harness.drain_write_back()
    assert _answer(harness, foreign, "approve", "asmith").status == 409
    assert _ecm_task(harness, REVIEW)["disposition_taken"] == "SendOn"
    assert _ecm_task(harness, (("4713", "4713", "2"), "", ""))["status"] == "open"

    text = "\n".join(logs.lines)
    assert "ECM ticket obtained" in text  # the path did log about its users...
    for login in LOGINS:
        # The tests' installation ids are "<login>-phone": client-chosen ids, not login names.
        named = re.compile(rf"{login}(?!-phone)")
        assert not named.search(text), [line for line in logs.lines if named.search(line)][:3]
    # ... under their pseudonyms.
    assert who("asmith") in text
    assert who("cwu") in text


def test_pseudonyms_are_stable_salted_and_short(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pseudonym("asmith", "s1") == pseudonym("asmith", "s1")
    assert pseudonym("asmith", "s1") != pseudonym("asmith", "s2")
    assert pseudonym("asmith", "s1") != pseudonym("bjones", "s1")
    assert len(pseudonym("asmith", "s1")) == len("u:") + 12
    monkeypatch.setenv("ECMPUSH_LOG_SALT", "s1")
    assert who("asmith") == pseudonym("asmith", "s1")
    assert who(None) == "-"
    assert os.environ["ECMPUSH_LOG_SALT"] == "s1"
