"""Which Content Server workflow action a user's reply becomes.

Disposition keys are defined per workflow map by whoever designed it ("Approve", "Approved",
"Freigeben", ...), so ecmpush never hard-codes them: it reads what the task offers
(`data.actions[]` and `data.custom_actions[]` of the task form) and picks the first candidate of a
configurable mapping that the task actually offers. Pure Python on purpose: the reply service and
its tests use this without any HTTP client.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class DispositionKind(StrEnum):
    """The two form fields of `PUT /api/v2/processes/{p}/subprocesses/{s}/tasks/{t}`; Content
    Server refuses a request carrying both."""

    ACTION = "action"  # standard step actions: SendOn, SendForReview, Delegate, ...
    CUSTOM_ACTION = "custom_action"  # dispositions defined on the map: Approve, Reject, ...


@dataclass(frozen=True)
class ActionOption:
    """One `{key, label}` entry the task form offers; `key` goes on the wire, `label` is what the
    ECM user interface shows (and may be localised)."""

    key: str
    label: str


class OfferedActions(Protocol):
    """What `choose_disposition` needs from a task: satisfied by the ECM adapter's TaskDetails."""

    @property
    def actions(self) -> Sequence[ActionOption]: ...

    @property
    def custom_actions(self) -> Sequence[ActionOption]: ...


@dataclass(frozen=True)
class Disposition:
    """The key to send and in which form field; `reply_action` keeps the user's intent for logs."""

    reply_action: str
    kind: DispositionKind
    key: str
    label: str


class NoMatchingDisposition(ValueError):
    """The task offers none of the candidates configured for a reply action: a configuration
    problem of this workflow map (or the wrong task), never worth a retry."""

    def __init__(self, reply_action: str, candidates: Sequence[str], task: OfferedActions) -> None:
        offered = [f"action:{o.key}" for o in task.actions] + [
            f"custom:{o.key}" for o in task.custom_actions
        ]
        super().__init__(
            f"task offers no disposition for reply {reply_action!r}: "
            f"candidates {list(candidates)}, offered {offered or 'nothing'}"
        )
        self.reply_action = reply_action
        self.candidates = tuple(candidates)
        self.offered = tuple(offered)


# A candidate is "custom:<key or label>", "action:<key or label>" or a bare "<key or label>"
# (custom actions are tried before standard actions). Matching is case-insensitive, keys win
# over labels. Order matters: the first candidate the task offers is taken.
DEFAULT_DISPOSITION_MAPPING: Mapping[str, Sequence[str]] = {
    "approve": ("custom:Approve", "custom:Approved", "custom:Accept"),
    "reject": ("custom:Reject", "custom:Rejected", "custom:Decline"),
    "acknowledge": ("action:SendOn",),
    "request_info": ("action:SendForReview", "action:Review"),
}

_PREFIXES: Mapping[str, tuple[DispositionKind, ...]] = {
    "custom:": (DispositionKind.CUSTOM_ACTION,),
    "action:": (DispositionKind.ACTION,),
}


def _split(candidate: str) -> tuple[tuple[DispositionKind, ...], str]:
    lowered = candidate.lower()
    for prefix, kinds in _PREFIXES.items():
        if lowered.startswith(prefix):
            return kinds, candidate[len(prefix) :].strip()
    return (DispositionKind.CUSTOM_ACTION, DispositionKind.ACTION), candidate.strip()


def _find(options: Sequence[ActionOption], wanted: str) -> ActionOption | None:
    needle = wanted.casefold()
    by_key = next((o for o in options if o.key.casefold() == needle), None)
    if by_key is not None:
        return by_key
    return next((o for o in options if o.label.casefold() == needle), None)


def choose_disposition(
    task: OfferedActions,
    reply_action: str,
    mapping: Mapping[str, Sequence[str]] | None = None,
) -> Disposition:
    """Pick the action or custom action of `task` that carries out `reply_action`.

    `mapping` (default `DEFAULT_DISPOSITION_MAPPING`) lists candidates per reply action; an
    operator overrides it per deployment when a workflow map uses other keys. Raises
    `NoMatchingDisposition` when the task offers none of them; an unknown reply action raises
    the same error (with no candidates) rather than a bare KeyError.
    """
    table = DEFAULT_DISPOSITION_MAPPING if mapping is None else mapping
    candidates = list(table.get(reply_action, ()))
    for candidate in candidates:
        kinds, wanted = _split(candidate)
        for kind in kinds:
            options = task.custom_actions if kind is DispositionKind.CUSTOM_ACTION else task.actions
            found = _find(options, wanted)
            if found is not None:
                return Disposition(reply_action, kind, found.key, found.label)
    raise NoMatchingDisposition(reply_action, candidates, task)
