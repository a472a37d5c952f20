"""Accepting an event exactly once: Powertools idempotency (DynamoDB, keyed on the event id,
the payload checked) around the intake's store-and-queue, its exceptions translated into the
intake's refusals (domain/intake/acceptance.py) so no Powertools or botocore type passes this
adapter. Imported on the first request only: the idempotency package loads boto3."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

from ecmpush.domain.intake.acceptance import (
    EventIdReused,
    EventInProgress,
    EventStoreUnavailable,
)
from ecmpush.domain.intake.events import EcmEvent

Answer = dict[str, str]
# The name the idempotency items were written under before this adapter existed: Powertools'
# default prefix, `<Lambda function name>.<module>.<qualname>` of the guarded function, which
# lived in bootstrap.py. Passed as `key_prefix`, so a deploy that renames code still
# recognises the events it accepted, and a resent event is not accepted again.
KEYS_NAMED_AFTER = "ecmpush.bootstrap.accept_event_once.<locals>.accept"


def idempotency_key_prefix() -> str:
    """Powertools' own default for the guarded function (`test-func` outside Lambda)."""
    return f"{os.getenv('AWS_LAMBDA_FUNCTION_NAME', 'test-func')}.{KEYS_NAMED_AFTER}"


def accept_once(
    accept: Callable[[EcmEvent], Answer], table_name: str, config: IdempotencyConfig
) -> Callable[[EcmEvent], Answer]:
    persistence = DynamoDBPersistenceLayer(table_name=table_name)

    def store_and_queue(event: EcmEvent) -> Answer:
        return accept(event)

    guarded: Callable[..., Any] = idempotent_function(
        data_keyword_argument="event",
        config=config,
        persistence_store=persistence,
        key_prefix=idempotency_key_prefix(),
    )(store_and_queue)

    def once(event: EcmEvent) -> Answer:
        try:
            answer: Answer = guarded(event=event)
        except IdempotencyValidationError as exc:
            raise EventIdReused("id was already used for a different event") from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise EventInProgress("the same event is being accepted right now") from exc
        except (BotoCoreError, ClientError, IdempotencyPersistenceLayerError) as exc:
            # Nothing acknowledged: Powertools dropped its in-progress item, so the retry
            # runs the whole acceptance again (the event put overwrites the same item).
            raise EventStoreUnavailable(str(exc)) from exc
        return answer

    return once
