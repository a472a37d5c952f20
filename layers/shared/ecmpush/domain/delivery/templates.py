"""Message catalog: one entry per notification template, per language, rendered for the
device's locale with English as the fallback. Text lives here, not in routing, so translating
or rewording never touches delivery logic."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from ecmpush.domain.delivery.translations import DE, FR, Catalog

EN: Catalog = {
    "task.assigned.approval.title": "Approval needed: {task_title}",
    "task.assigned.review.title": "Review requested: {task_title}",
    "task.assigned.task.title": "New task: {task_title}",
    "document": "Document: {document_name}",
    "due": "Due {due}",
    "priority.high": "High priority",
    "response.confirmed.applied.title": "Recorded: {action_label}",
    "response.confirmed.applied.body": "{task_title}: your answer is in the ECM workflow.",
    "response.confirmed.task_closed.title": "Already completed",
    "response.confirmed.task_closed.body": (
        "{task_title} was completed before your answer arrived; nothing was changed."
    ),
    "action.approve": "Approved",
    "action.reject": "Rejected",
    "action.acknowledge": "Acknowledged",
    "action.request_info": "More information requested",
    # SLA ladder (domain/sweeps/sla.py); the body is the standard one: document · due · priority.
    "sla.reminder.title": "Overdue: {task_title}",
    "sla.escalation.title": "Escalation: {task_title} is overdue with {assignee}",
    # Not seen → the next person (domain/sweeps/unseen.py) and snooze (domain/sweeps/snooze.py).
    "sla.not_seen.reminder.title": "Still waiting for you: {task_title}",
    "sla.not_seen.escalation.title": "Not seen by {assignee}: {task_title}",
    "task.snoozed.title": "Reminder: {task_title}",
}

# Expiry warnings (domain/sweeps/expiry_notices.py): a single record, or a digest per
# recipient and window.
EN.update(
    {
        "expiry.warning.single.days.title": "{kind_label} expires in {days} days: {record_name}",
        "expiry.warning.single.days.body": "Expiry date: {expires_on}",
        "expiry.warning.single.tomorrow.title": "{kind_label} expires tomorrow: {record_name}",
        "expiry.warning.single.tomorrow.body": "Expiry date: {expires_on}",
        "expiry.warning.single.today.title": "{kind_label} expires today: {record_name}",
        "expiry.warning.single.today.body": "Expiry date: {expires_on}",
        "expiry.warning.single.expired.title": "{kind_label} has expired: {record_name}",
        "expiry.warning.single.expired.body": "Expiry date: {expires_on}",
        "expiry.warning.digest.days.title": "{count} {kinds_label} expire within {days} days",
        "expiry.warning.digest.days.body": "{names}",
        "expiry.warning.digest.tomorrow.title": "{count} {kinds_label} expire by tomorrow",
        "expiry.warning.digest.tomorrow.body": "{names}",
        "expiry.warning.digest.today.title": "{count} {kinds_label} expire today",
        "expiry.warning.digest.today.body": "{names}",
        "expiry.warning.digest.expired.title": "{count} {kinds_label} have expired",
        "expiry.warning.digest.expired.body": "{names}",
    }
)

# Record kinds, for expiry warnings: one record, and several (a digest).
EN.update(
    {
        "kind.contract.one": "Contract",
        "kind.contract.many": "contracts",
        "kind.licence.one": "Licence",
        "kind.licence.many": "licences",
        "kind.certificate.one": "Certificate",
        "kind.certificate.many": "certificates",
        "kind.policy.one": "Policy",
        "kind.policy.many": "policies",
        "kind.retention.one": "Retention record",
        "kind.retention.many": "retention records",
        "kind.any.one": "Record",
        "kind.any.many": "records",
    }
)

# Flows 4 to 6 (domain/delivery/routing.py): field teams, external stakeholders, governance.
EN.update(
    {
        "document.available.job_instruction.title": "New job instruction: {document_name}",
        "document.available.safety_form.title": "New safety form: {document_name}",
        "document.available.incident_report.title": "New incident report: {document_name}",
        "document.available.document.title": "New document: {document_name}",
        "document.available.job_instruction.body": "Read it before your next job.",
        "document.available.safety_form.body": "Read it before work starts.",
        "document.available.incident_report.body": "A new incident report is available.",
        "document.available.document.body": "A new document is available for your team.",
        "document.published.statement.title": "New statement: {document_name}",
        "document.published.onboarding_packet.title": "Your onboarding packet: {document_name}",
        "document.published.deliverable.title": "New deliverable: {document_name}",
        "document.published.service_report.title": "New service report: {document_name}",
        "document.published.other.title": "New document: {document_name}",
        "document.published.statement.body": "Tap to open it.",
        "document.published.onboarding_packet.body": "Tap to open it.",
        "document.published.deliverable.body": "Tap to open it.",
        "document.published.service_report.body": "Tap to open it.",
        "document.published.other.body": "Tap to open it.",
        "governance.metadata_validation_failed.title": "Metadata validation failed",
        "governance.unauthorized_access.title": "Unauthorized access",
        "governance.missing_approval.title": "Missing approval",
        "governance.retention_exception.title": "Retention exception",
        "governance.metadata_validation_failed.body": "{summary}",
        "governance.unauthorized_access.body": "{summary}",
        "governance.missing_approval.body": "{summary}",
        "governance.retention_exception.body": "{summary}",
    }
)

# Withdrawals (domain/delivery/withdrawal.py): the quiet line that replaces a push whose task
# was decided elsewhere.
EN.update(
    {
        "withdrawn.title": "{task_title}",
        "withdrawn.body": "Done: {decision_label} {platform_label} at {time}",
        "decision.approve": "approved",
        "decision.reject": "rejected",
        "decision.acknowledge": "acknowledged",
        "decision.request_info": "sent back for more information",
        "decision.completed": "completed",
        "decision.reassigned": "reassigned",
        "decision.taken": "taken by another member",
        "platform.android": "on Android",
        "platform.ios": "on iOS",
        "platform.web": "in the browser",
        "platform.ecm": "in Content Server",
        "platform.app": "in the app",
    }
)

CATALOGS: dict[str, Catalog] = {"en": EN, "de": DE, "fr": FR}
SEPARATOR = " · "


def language_of(locale: str | None) -> str:
    """`de-AT` → `de` when German exists, else English."""
    language = (locale or "en").replace("_", "-").split("-")[0].lower()
    return language if language in CATALOGS else "en"


def _text(language: str, key: str, **values: str) -> str:
    catalog = CATALOGS[language]
    template = catalog.get(key) or EN[key]
    return template.format(**values)


def format_due(iso: str, timezone: str | None) -> str:
    """Due times read in the device's own zone when it told us one, else in UTC."""
    moment = datetime.fromisoformat(iso)
    zone = ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
    local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "UTC")


def render(
    template: str, params: dict[str, str], locale: str | None, timezone: str | None
) -> tuple[str, str]:
    """Title and body of one notification for one device."""
    language = language_of(locale)
    labels = {
        "action_label": ("action", "action.{}"),
        "kind_label": ("kind", "kind.{}.one"),
        "kinds_label": ("kinds", "kind.{}.many"),
        "decision_label": ("decision", "decision.{}"),
        "platform_label": ("platform", "platform.{}"),
    }
    for label, (code, key) in labels.items():
        if params.get(code):
            params = {**params, label: _text(language, key.format(params[code]))}
    title = _text(language, f"{template}.title", **params)
    if f"{template}.body" in EN:
        return title, _text(language, f"{template}.body", **params)
    lines = []
    if params.get("document_name"):
        lines.append(_text(language, "document", document_name=params["document_name"]))
    if params.get("due_at"):
        lines.append(_text(language, "due", due=format_due(params["due_at"], timezone)))
    if params.get("priority") == "high":
        lines.append(_text(language, "priority.high"))
    body = SEPARATOR.join(lines)
    if params.get("instructions"):
        body = f"{body}\n{params['instructions']}" if body else params["instructions"]
    return title, body
