"""Names vulture (`make lint`) cannot see used: read by a framework, by `asdict`, or parsed from
the wire and kept for logs and tests. Dead code is deleted, not listed here; a name belongs
here only with the reason no caller in ecmpush can show."""

from aws_lambda_powertools.event_handler import Response

from ecmpush.adapters.fcm_sender import FcmSender
from ecmpush.adapters.firebase_app import _read_environment_once
from ecmpush.adapters.relay_state_item import RelayStateItem
from ecmpush.bootstrap.intake import _mark_duplicate
from ecmpush.bootstrap.relay import RelayPollStack
from ecmpush.domain.approver.documents import DocumentMetadata
from ecmpush.domain.approver.steps import PushState
from ecmpush.domain.delivery.notifications import Notification
from ecmpush.domain.delivery.receipts import ReceiptEvent
from ecmpush.domain.ecm.model import (
    CompletionResult,
    SearchRow,
    TaskDetails,
    WorkflowStatus,
    WorkflowStep,
)
from ecmpush.domain.intake.events import TaskCompletedData
from ecmpush.domain.sweeps.tasks import TrackedTask
from ecmpush.entrypoints.answers import DeliveryEntry, NotificationPage, ReplySnoozed
from ecmpush.ports import RelayStatePort
from ecmpush.services.device_prune import DevicePruneReport
from ecmpush.services.expiry_sweep import SweepReport
from ecmpush.services.sla_sweep import SlaSweepReport
from ecmpush.settings import Settings

_ = (
    # read by the relay's poll, senders/relay/function.py: RelayPollFunction's artifact holds
    # it beside the handler (functions/relay_poll/Makefile), outside SharedLayer and these paths
    RelayStateItem.read,
    RelayStatePort.read,
    RelayPollStack.maps,
    RelayPollStack.default_stage,
    # pydantic-settings' hook, called with these keywords (only init_settings is kept)
    Settings.settings_customise_sources,
    Settings.settings_cls,
    Settings.env_settings,
    Settings.dotenv_settings,
    Settings.file_secret_settings,
    # requests.Session's attribute, set (not read) to stop per-request environment lookups
    _read_environment_once.trust_env,
    # Powertools calls the idempotency response hook with (response, idempotent_data)
    _mark_duplicate.idempotent_data,
    # the exact JSON FCM receives: bench/dispatch_throughput and the FCM sender's tests
    FcmSender.wire_message,
    # Content Server's answers as parsed, kept whole (the stand-in and contract tests read them)
    TaskDetails.comments_on,
    CompletionResult.acted_as,
    WorkflowStep.due_date,
    WorkflowStatus.completed,
    SearchRow.parent_id,
    SearchRow.properties,
    # contract fields validated at the edge and stored, not read back by a flow
    TaskCompletedData.completed_by,
    Notification.source_id,
    TrackedTask.closed_at,
    # an API answer's field: serialised whole by `model_response`, read by the app
    NotificationPage.next_cursor,
    ReplySnoozed.snoozed_until,
    DeliveryEntry.displayed_at,
    DeliveryEntry.dismissed_at,
    # sweep reports: logged and returned whole through `asdict`
    DevicePruneReport.stopped,
    SweepReport.search_invalid,
    SweepReport.search_pages,
    SlaSweepReport.closed,
    SlaSweepReport.unaddressed,
    SlaSweepReport.not_seen_reminders,  # read by name in functions/sla_sweep/app.py
    SlaSweepReport.not_seen_escalations,
    SlaSweepReport.snoozed,
    SlaSweepReport.stopped,
    # receipt kinds a client reports: parsed from the body by value, stored by `attribute`
    ReceiptEvent.RECEIVED,
    ReceiptEvent.DISPLAYED,
    ReceiptEvent.DISMISSED,
    # the approver's API answers (docs/clients.md), read by the app, not by ecmpush
    DocumentMetadata.modified_at,
    DocumentMetadata.too_large,
    DocumentMetadata.max_bytes,
    PushState.action_token_expires_at,
    # Powertools reads it when it builds the Lambda answer (isBase64Encoded)
    Response.base64_encoded,
)
