"""What the Web Push emulator remembers: subscriptions and their keys, messages it decrypted,
every request and its answer, and faults to play. In memory and bounded.

A load test that needs many subscriptions asks for a family: ``count`` subscriptions sharing one
key pair, numbered ``<family>-<n>``, which costs one entry however large it is.
"""

from __future__ import annotations

import base64
import secrets
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from services.emulators.faults import FaultQueue
from services.emulators.webpush.keys import SubscriptionKeys, new_subscription_keys


@dataclass
class Subscription:
    """One subscription the emulator issued; ``application_server_key`` binds it to a VAPID key."""

    id: str
    keys: SubscriptionKeys
    application_server_key: str | None
    active: bool = True


@dataclass(frozen=True)
class Received:
    """One message that passed every check, with its decrypted payload and raw body."""

    id: str
    subscription_id: str
    received_at: datetime
    headers: dict[str, str]
    vapid_claims: dict[str, Any]
    plaintext: str
    body: bytes

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subscription_id": self.subscription_id,
            "received_at": self.received_at.isoformat(),
            "headers": self.headers,
            "vapid": self.vapid_claims,
            "payload": self.plaintext,
            "body_base64": _b64(self.body),
        }


@dataclass(frozen=True)
class Attempt:
    received_at: datetime
    subscription_id: str
    status: int
    reason: str | None

    def view(self) -> dict[str, Any]:
        return {
            "received_at": self.received_at.isoformat(),
            "subscription_id": self.subscription_id,
            "status": self.status,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Family:
    """``count`` subscriptions ``<id>-0`` ... sharing ``keys``."""

    id: str
    keys: SubscriptionKeys
    count: int


@dataclass
class WebPushEmulatorState:
    capacity: int
    subscriptions: OrderedDict[str, Subscription] = field(default_factory=OrderedDict)
    messages: deque[Received] = field(init=False)
    attempts: deque[Attempt] = field(init=False)
    faults: FaultQueue = field(default_factory=FaultQueue)
    families: dict[str, Family] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.messages = deque(maxlen=self.capacity)
        self.attempts = deque(maxlen=self.capacity)

    def subscribe(self, application_server_key: str | None) -> Subscription:
        subscription = Subscription(
            secrets.token_urlsafe(16), new_subscription_keys(), application_server_key
        )
        self.subscriptions[subscription.id] = subscription
        while len(self.subscriptions) > self.capacity:
            self.subscriptions.popitem(last=False)
        return subscription

    def subscribe_family(self, count: int) -> Family:
        family = Family(secrets.token_hex(8), new_subscription_keys(), count)
        self.families[family.id] = family
        return family

    def subscription(self, subscription_id: str) -> Subscription | None:
        """An issued subscription, or a member of a family."""
        found = self.subscriptions.get(subscription_id)
        if found is not None:
            return found
        family_id, _, number = subscription_id.partition("-")
        family = self.families.get(family_id)
        if family is None or not number.isdigit() or int(number) >= family.count:
            return None
        return Subscription(subscription_id, family.keys, None)

    def listing(self, subscription_id: str | None) -> list[dict[str, Any]]:
        return [
            m.view()
            for m in self.messages
            if subscription_id is None or m.subscription_id == subscription_id
        ]

    def attempt_listing(self, subscription_id: str | None) -> list[dict[str, Any]]:
        return [
            a.view()
            for a in self.attempts
            if subscription_id is None or a.subscription_id == subscription_id
        ]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
