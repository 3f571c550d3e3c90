"""The topic catalog: every topic's name, key, partition count, message type, dead-letter topic,
cleanup policy and retention.

Start-up creates topics from this list, the AsyncAPI document is generated from it, and no other
module spells a topic name. Replication and partition overrides belong to a deployment's settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from contracts.apps import AppChanged
from contracts.badges import BadgeChanged, ReadsReported
from contracts.base import Model
from contracts.deadletter import DeadLetter
from contracts.notifications import (
    NotificationAudience,
    NotificationCounted,
    NotificationDue,
    NotificationRejected,
    NotificationSubmitted,
    NotificationWithheld,
    UserNotification,
)
from contracts.push import PLATFORMS, Platform, PushRequest, PushResult
from contracts.schedule import (
    NotificationCancel,
    NotificationCancelRequested,
    NotificationCancelResult,
    NotificationExpired,
)
from contracts.trace import NotificationTraced
from contracts.users import UserPreferences
from contracts.webhooks import WebhookDelivery

#: Pipeline topics: a weekend-long outage of a consumer can still be replayed, and push content
#: does not stay on the brokers much longer than that.
PIPELINE_RETENTION = timedelta(days=7)
#: Parked and refused messages wait for a person to look, fix and replay them: a month.
DEAD_LETTER_RETENTION = timedelta(days=30)
#: Answers that waiting requests read within seconds; a day leaves time to look at one.
ANSWER_RETENTION = timedelta(days=1)


@dataclass(frozen=True)
class Topic:
    """One Kafka topic and the single message type it carries.

    A compacted topic holds state: every message carries the whole state of its key, so Kafka may
    drop all but the newest per key and a reader starting from the beginning still sees everything
    current. Its key must name the state exactly (app and user, not user alone), or one app's
    state would replace another's. Compacted topics have no retention: state never expires.
    """

    name: str
    message: type[Model]
    key: str | tuple[str, ...]
    partitions: int
    doc: str
    dead_letter: str | None = None
    cleanup_policy: Literal["delete", "compact"] = "delete"
    retention: timedelta | None = PIPELINE_RETENTION

    def __post_init__(self) -> None:
        if (self.cleanup_policy == "compact") != (self.retention is None):
            raise ValueError(f"{self.name}: compacted topics, and only they, have no retention")

    @property
    def key_fields(self) -> tuple[str, ...]:
        """The message fields that make up the key, in order."""
        return (self.key,) if isinstance(self.key, str) else self.key

    @property
    def message_type(self) -> str:
        """The ``type`` value every message on this topic carries."""
        return str(self.message.model_fields["type"].default)

    @property
    def message_version(self) -> int:
        """The schema version this release reads and writes."""
        return int(self.message.model_fields["version"].default)

    def key_of(self, message: Model) -> bytes:
        """The partition key of a message on this topic: the catalog's one rule for keys.

        Several fields are joined with '/', which no app id contains, so keys stay unambiguous.
        """
        return "/".join(str(getattr(message, field)) for field in self.key_fields).encode()

    @property
    def configs(self) -> dict[str, str]:
        """The Kafka topic configs the catalog decides (replication is the deployment's)."""
        configs: dict[str, str] = {"cleanup.policy": self.cleanup_policy}
        if self.retention is not None:
            configs["retention.ms"] = str(int(self.retention.total_seconds() * 1000))
        return configs


PARTITIONS = 8


def _dead_letters(name: str) -> Topic:
    return Topic(
        name=f"{name}.dlq",
        message=DeadLetter,
        key="consumer_group",
        partitions=1,
        doc=f"Messages from {name} a consumer could not process, with the reason and bytes.",
        retention=DEAD_LETTER_RETENTION,
    )


SUBMITTED = Topic(
    "notifications.submitted",
    NotificationSubmitted,
    key="idempotency_key",
    partitions=PARTITIONS,
    dead_letter="notifications.rejected",
    doc="Send requests product teams publish, each signed with an intake key of its app; ingest "
    "checks the signature, validates, dedupes and expands them.",
)
REJECTED = Topic(
    "notifications.rejected",
    NotificationRejected,
    key="event_id",
    partitions=1,
    doc="Submitted events ingest refused, with the reason and the original bytes.",
    retention=DEAD_LETTER_RETENTION,
)
USER = Topic(
    "notifications.user",
    UserNotification,
    key="user_id",
    partitions=PARTITIONS,
    dead_letter="notifications.user.dlq",
    doc="One message per notification and recipient user; the scheduler decides when.",
)
AUDIENCE = Topic(
    "notifications.audience",
    NotificationAudience,
    key="notification_id",
    partitions=PARTITIONS,
    dead_letter="notifications.audience.dlq",
    doc="Notifications to devices (by id, topic, condition, all of the app, a segment), one "
    "event each from ingest; the registry streams the matching devices page by page into "
    "notifications.user, one event per user restricted to the user's matching devices.",
)
DUE = Topic(
    "notifications.due",
    NotificationDue,
    key="user_id",
    partitions=PARTITIONS,
    dead_letter="notifications.due.dlq",
    doc="Notifications to send now; badge-count counts them and attaches the user's badge.",
)
COUNTED = Topic(
    "notifications.counted",
    NotificationCounted,
    key="user_id",
    partitions=PARTITIONS,
    dead_letter="notifications.counted.dlq",
    doc="Due notifications with their badge; the registry fans them out to the user's devices.",
)
PUSH: dict[Platform, Topic] = {
    platform: Topic(
        f"push.{platform}",
        PushRequest,
        key="device_id",
        partitions=PARTITIONS,
        dead_letter=f"push.{platform}.dlq",
        doc=f"One delivery per {platform} device; the {platform} dispatcher sends it.",
    )
    for platform in PLATFORMS
}
RETRY: dict[Platform, Topic] = {
    platform: Topic(
        f"push.{platform}.retry",
        PushRequest,
        key="device_id",
        partitions=PARTITIONS,
        dead_letter=f"push.{platform}.retry.dlq",
        doc=f"{platform} pushes waiting to be tried again (not_before, attempt); the {platform} "
        "dispatcher retries them here so a waiting push never holds up its push topic.",
    )
    for platform in PLATFORMS
}
RESULTS = Topic(
    "push.results",
    PushResult,
    key="device_id",
    partitions=PARTITIONS,
    dead_letter="push.results.dlq",
    doc="Outcome of every delivery; the registry deactivates dead tokens and notes successes.",
)
READS = Topic(
    "reads.reported",
    ReadsReported,
    key="user_id",
    partitions=PARTITIONS,
    dead_letter="reads.reported.dlq",
    doc="Reads devices reported; badge-count applies them once.",
)
BADGES = Topic(
    "badges.changed",
    BadgeChanged,
    key="user_id",
    partitions=PARTITIONS,
    dead_letter="badges.changed.dlq",
    doc="New unread counts; the registry turns them into sync pushes to the user's devices.",
)
CANCEL_REQUESTED = Topic(
    "notifications.cancel_requested",
    NotificationCancelRequested,
    key="app_id",
    partitions=PARTITIONS,
    dead_letter="notifications.rejected",
    doc="Cancels senders publish over Kafka, signed with an intake key; ingest finds the "
    "notification within the signing app and passes the cancel on.",
)
CANCEL = Topic(
    "notifications.cancel",
    NotificationCancel,
    key="notification_id",
    partitions=PARTITIONS,
    dead_letter="notifications.cancel.dlq",
    doc="Cancels of authenticated senders, published by ingest only (HTTP and Kafka alike); the "
    "scheduler drops the held copies.",
)
CANCEL_RESULTS = Topic(
    "notifications.cancel_results",
    NotificationCancelResult,
    key="notification_id",
    partitions=PARTITIONS,
    doc="What each cancel achieved, or that it came too late; ingest answers HTTP cancels from it.",
    retention=ANSWER_RETENTION,
)
EXPIRED = Topic(
    "notifications.expired",
    NotificationExpired,
    key="user_id",
    partitions=PARTITIONS,
    doc="Users' copies the scheduler dropped because they could not go out before their deadline.",
)
WITHHELD = Topic(
    "notifications.withheld",
    NotificationWithheld,
    key="user_id",
    partitions=PARTITIONS,
    doc="Users' pushes withheld by their preferences (a category or a platform they opted out "
    "of) or by a category's frequency cap, with the reason; from the scheduler and the registry.",
)
TRACE = Topic(
    "notifications.trace",
    NotificationTraced,
    key="notification_id",
    partitions=PARTITIONS,
    dead_letter="notifications.trace.dlq",
    doc="Every step of every notification (accepted, held, released, withheld, counted, fanned "
    "out, sent, retried, parked, opened...) from the stage that took it, keyed by notification; "
    "the tracker keeps the timelines, and product teams may consume it for their app's outcomes. "
    "No raw device token appears here.",
)
PREFERENCES = Topic(
    "users.preferences",
    UserPreferences,
    key=("app_id", "user_id"),
    partitions=PARTITIONS,
    dead_letter="users.preferences.dlq",
    doc="Users' time zones, quiet hours and opt-outs (whole state per change) from the registry; "
    "the scheduler keeps its own copy. Compacted: the newest state of each app's user survives.",
    cleanup_policy="compact",
    retention=None,
)

APPS = Topic(
    "apps.changed",
    AppChanged,
    key="app_id",
    partitions=1,
    doc="Every app's whole state on each change (keys, signing keys, sealed credentials); every "
    "service reads it all from the start, without a consumer group, and keeps its own copy. "
    "Compacted: the newest state of every app survives however long ago it changed.",
    cleanup_policy="compact",
    retention=None,
)
WEBHOOK_DELIVERIES = Topic(
    "webhooks.deliveries",
    WebhookDelivery,
    key="webhook_id",
    partitions=PARTITIONS,
    dead_letter="webhooks.deliveries.dlq",
    doc="Batches of an app's trace events for one of its webhooks, from the webhooks service's "
    "own reading of the trace; it POSTs each once here and parks what the endpoint refuses.",
)
WEBHOOK_RETRY = Topic(
    "webhooks.retry",
    WebhookDelivery,
    key="webhook_id",
    partitions=PARTITIONS,
    dead_letter="webhooks.retry.dlq",
    doc="Webhook deliveries waiting to be POSTed again (not_before, attempt, deadline), so a "
    "failing endpoint never holds up the first tries of other webhooks; parked past the deadline.",
)


def outcomes_of(app_id: str) -> Topic:
    """One app's outcome stream: the ``notification.traced`` steps that end a user's or a
    device's story (contracts.apps.DEFAULT_WEBHOOK_STAGES), for that app only, so a product team
    may be granted Read on its own topic without seeing any other app's. Created when the app's
    first outcome is published, not at start-up like the catalog's topics."""
    return Topic(
        f"outcomes.{app_id}",
        NotificationTraced,
        key="notification_id",
        partitions=PARTITIONS,
        doc=f"The outcomes of app {app_id}'s notifications (sent with the provider's answer, "
        "withheld, expired, cancelled, no device, token deactivated, parked, opened).",
    )


_PRIMARY = (
    SUBMITTED,
    REJECTED,
    USER,
    AUDIENCE,
    DUE,
    COUNTED,
    *PUSH.values(),
    *RETRY.values(),
    RESULTS,
    READS,
    BADGES,
    CANCEL_REQUESTED,
    CANCEL,
    CANCEL_RESULTS,
    EXPIRED,
    WITHHELD,
    TRACE,
    PREFERENCES,
    APPS,
    WEBHOOK_DELIVERIES,
    WEBHOOK_RETRY,
)


def all_topics() -> Iterator[Topic]:
    """Every topic Herald uses, dead-letter topics included, each once."""
    yield from _PRIMARY
    for topic in _PRIMARY:
        if topic.dead_letter and topic.dead_letter.endswith(".dlq"):
            yield _dead_letters(topic.name)


def by_name(name: str) -> Topic:
    """Look a topic up by its catalog name."""
    for topic in all_topics():
        if topic.name == name:
            return topic
    raise KeyError(name)
