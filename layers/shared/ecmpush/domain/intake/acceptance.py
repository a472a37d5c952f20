"""Why one event of a webhook request was not accepted, in the intake's own words: the
idempotent store raises these (adapters/idempotent_acceptance.py), the intake service turns
each into that event's answer, and only the entrypoint knows HTTP."""

from __future__ import annotations


class EventNotAccepted(Exception):
    """The event was not accepted; `status` is its answer in the response (contract §1)."""

    status = "unavailable"


class EventIdReused(EventNotAccepted):
    """The id was already accepted for a different event."""

    status = "conflict"


class EventInProgress(EventNotAccepted):
    """The same event is being accepted by a concurrent request right now."""

    status = "in_progress"


class EventStoreUnavailable(EventNotAccepted):
    """Nothing was acknowledged (the store or the queue could not be reached): the sender's
    retry runs the whole acceptance again."""

    status = "unavailable"
