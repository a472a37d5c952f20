"""The push that tells a user what became of their reply (`response.confirmed`, contract §4)."""

from __future__ import annotations

from datetime import datetime

from ecmpush.domain.delivery.notifications import Notification, notification_id
from ecmpush.domain.replies.reply_actions import INFO
from ecmpush.domain.replies.requests import ReplyStatus
from ecmpush.domain.replies.write_back import Reply


def confirmation(
    reply: Reply, status: ReplyStatus, task_title: str, deep_link: str, now: datetime
) -> Notification:
    return Notification(
        id=notification_id(reply.response_id, "response.confirmed"),
        type="response.confirmed",
        category="confirmation",
        source_id=reply.response_id,
        recipients=[reply.ecm_user],
        template=f"response.confirmed.{status.value}",
        params={"task_title": task_title or "The task", "action": reply.action},
        deep_link=deep_link,
        apns_category=INFO.category,
        task=reply.task,
        created_at=now,
    )
