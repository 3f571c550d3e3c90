"""Hostile and malformed events on the Kafka intake: each is refused on notifications.rejected with
a reason naming what is wrong, and good events interleaved between them are still delivered.

Ingest runs in this process against the real broker and PostgreSQL; its clock is frozen so the
time rules (schedules in the past, beyond the horizon, after their expiry) are exact.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from contracts import topics
from contracts.codec import MAX_MESSAGE_BYTES, encode
from contracts.notifications import NotificationRejected
from services.ingest.app import build
from services.ingest.settings import IngestSettings
from shared.embedded.broker import EmbeddedBroker
from shared.embedded.ports import free_port
from shared.embedded.postgres import EmbeddedPostgres
from shared.secrets import SecretBox, new_secrets_key
from shared.tenancy.auth import key_digest, new_api_key
from tests.support.clock import FrozenClock
from tests.support.factories import submitted, unique
from tests.support.intake import announce_intake_keys
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration

APP = "catalogue"
Event = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """One kind of bad input: the record's value and part of the reason it must be refused with."""

    name: str
    value: bytes
    reason: str


class Intake:
    """Ingest running with a frozen clock, the topics it reads and writes, and its HTTP API."""

    def __init__(self, io: TopicIO, clock: FrozenClock, http: httpx.AsyncClient) -> None:
        self.io = io
        self.clock = clock
        self.http = http

    def event(self, users: list[str] | None = None, **changes: Any) -> Event:
        """A valid submitted event as JSON, with top-level fields replaced."""
        base: Event = json.loads(encode(submitted(self.clock.now(), ["u1"], app_id=APP)))
        if users is not None:
            base["audience"] = {"user_ids": users}
        base.update(changes)
        return base

    def cancel_requested(self, idempotency_key: str) -> Event:
        """A valid cancel request as JSON."""
        return {
            "type": "notification.cancel_requested",
            "version": 1,
            "event_id": str(uuid.uuid4()),
            "app_id": APP,
            "occurred_at": self.clock.now().isoformat(),
            "idempotency_key": idempotency_key,
        }

    def with_content(self, **content: Any) -> Event:
        return self.event(content={"title": "T", **content})

    async def rejections(self, names: set[str]) -> dict[str, NotificationRejected]:
        """The rejections of the records keyed by ``names``, once all of them are there."""

        def parse(records: list[Any]) -> dict[str, NotificationRejected]:
            found = [NotificationRejected.model_validate_json(r.value) for r in records]
            return {(r.source.key or b"").decode(): r for r in found}

        records = await self.io.read(
            topics.REJECTED, until=lambda found: names <= set(parse(found)), decoded=False
        )
        return parse(records)


@pytest.fixture
async def intake(broker: EmbeddedBroker, postgres: EmbeddedPostgres) -> AsyncIterator[Intake]:
    key = new_api_key()
    kafka = kafka_settings_for_test(broker.bootstrap)
    settings = IngestSettings(
        **kafka.model_dump(),
        database_dsn=SecretStr(postgres.dsn),
        secrets_keys=[SecretStr(new_secrets_key())],
        http_port=free_port(),
        api_keys={APP: [key_digest(key)]},
    )
    intake_keys = await announce_intake_keys(kafka, SecretBox(settings), APP)
    clock = FrozenClock()
    async with (
        running(await build(settings, clock)),
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{settings.http_port}",
            headers={"Authorization": f"Bearer {key}"},
        ) as http,
    ):
        yield Intake(TopicIO(kafka, intake_keys[APP].signer), clock, http)


def dumped(event: Event) -> bytes:
    return json.dumps(event).encode()


def catalogue(intake: Intake, now: datetime) -> list[Case]:
    """Every kind of bad input, one record each."""
    event, content = intake.event, intake.with_content
    no_key = event()
    del no_key["idempotency_key"]
    big_override = {f"k{i:03}": 1 for i in range(420)}
    schedule: Callable[..., Event] = lambda **fields: event(schedule=fields)  # noqa: E731
    return [
        Case("bad-json", b'{"type": "notification.submitted", "version": 1,', "not valid JSON"),
        Case("json-array", b'[{"type": "notification.submitted"}]', "expected a JSON object"),
        Case("json-scalar", b'"send it"', "expected a JSON object, got str"),
        Case("empty-bytes", b"", "not valid JSON: EOF"),
        Case("not-utf8", b'{"type": "notification.submitted", "x": "\xff\xfe"}', "not valid JSON"),
        Case("deep-nesting", b"[" * 5000 + b"]" * 5000, "recursion limit exceeded"),
        Case("no-type", dumped(event(type=None)), "type: expected 'notification.submitted'"),
        Case("wrong-type", dumped(event(type="notification.cancel")), "got 'notification.cancel'"),
        Case("unknown-version", dumped(event(version=2)), "version: 2 is not supported"),
        Case("version-as-text", dumped(event(version="1")), "version: '1' is not supported"),
        Case("missing-field", dumped(no_key), "idempotency_key: Field required"),
        Case("users-not-a-list", dumped(event(audience={"user_ids": "bob"})), "valid array"),
        Case(
            "bad-event-id", dumped(event(event_id="42")), "event_id: Input should be a valid UUID"
        ),
        Case("naive-timestamp", dumped(event(occurred_at="2026-01-15T12:00:00")), "timezone"),
        Case(
            "misspelt-field",
            dumped(misspelt(event(), "audience", "audiance")),
            "audiance: unknown field; did you mean 'audience'?",
        ),
        Case(
            "misspelt-nested-field",
            dumped(event(options={"ttl_second": 60})),
            "options.ttl_second: unknown field; did you mean 'ttl_seconds'?",
        ),
        Case("bad-app-id", dumped(event(app_id="Bad App!")), "app_id: String should match"),
        Case("unknown-app", dumped(event(app_id="nosuchapp")), "app_id: unknown app 'nosuchapp'"),
        Case("bad-user-id", dumped(event(["bob smith"])), "audience.user_ids.0: String should"),
        Case("no-recipients", dumped(event(audience={"user_ids": []})), "at least 1 item"),
        Case(
            "too-many-recipients",
            dumped(event([f"user-{i}" for i in range(1001)])),
            "audience.user_ids: List should have at most 1000 items",
        ),
        Case("empty-content", dumped(event(content={})), "content: needs a title or body"),
        Case("title-too-long", dumped(content(title="x" * 257)), "at most 256 characters"),
        Case("http-image", dumped(content(image_url="http://x.test/a.png")), "scheme should be"),
        Case("reserved-key", dumped(content(data={"google.sender": "1"})), "is reserved"),
        Case("apns-key-in-data", dumped(content(data={"aps": "1"})), "content.data.aps: 'aps'"),
        Case("nul-character", dumped(content(body="a\x00b")), "content.body: contains a NUL"),
        Case(
            "nan-in-override",
            b'{"type":"notification.submitted","version":1,"event_id":"'
            + str(event()["event_id"]).encode()
            + b'","app_id":"catalogue","occurred_at":"2026-01-15T12:00:00Z",'
            b'"idempotency_key":"nan","audience":{"user_ids":["u1"]},'
            b'"content":{"title":"T","overrides":{"android":{"x":NaN}}}}',
            "content.overrides.android.x: NaN and Infinity are not JSON numbers",
        ),
        Case(
            "bad-override-header",
            dumped(content(overrides={"apns": {"headers": {"apns-priority": "7"}}})),
            "content.overrides.apns.headers.apns-priority: must be 1, 5 or 10",
        ),
        *hostile_overrides(intake),
        Case("bidi-user-id", dumped(event(["alice\u202e"])), "RIGHT-TO-LEFT OVERRIDE"),
        Case("zero-width-user-id", dumped(event(["al\u200bice"])), "ZERO WIDTH SPACE"),
        Case(
            "crlf-collapse-key",
            dumped(event(options={"collapse_key": "k\r\napns-topic: other"})),
            "options.collapse_key: Value error, contains U+000D",
        ),
        Case(
            "collapse-key-over-64-bytes",
            dumped(event(options={"collapse_key": "é" * 33})),
            "options.collapse_key: is 66 bytes in UTF-8; APNs takes at most 64 bytes",
        ),
        Case(
            "over-codec-limit",
            dumped(content(data={"pad": "x" * MAX_MESSAGE_BYTES})),
            f"the limit is {MAX_MESSAGE_BYTES} bytes",
        ),
        Case(
            "huge",
            dumped(content(data={"pad": "x" * 900_000})),
            "value cut to its first 774144 of 900",
        ),
        Case(
            "over-content-limit",
            dumped(content(data={f"k{i}": "v" * 200 for i in range(30)})),
            "the limit is 4000 bytes",
        ),
        Case(
            "over-apns-limit",
            dumped(content(overrides={"apns": {"payload": big_override}})),
            "for APNs (JSON payload, apns-push-type alert); the limit is 4096 bytes",
        ),
        Case(
            "over-fcm-limit",
            dumped(content(body_loc_key="B", body_loc_args=["a" * 150] * 16)),
            "for FCM (keys and values of data, notification and each platform); the limit is 4096",
        ),
        Case(
            "over-webpush-limit",
            dumped(content(body="b" * 1000, deep_link="app://" + "d" * 2000)),
            "for Web Push (plaintext of one 4096-byte aes128gcm record); the limit is 3993",
        ),
        Case(
            "unknown-time-zone",
            dumped(schedule(local_time="2026-01-16T09:00:00", time_zone="Mars/Olympus")),
            "schedule.time_zone: Value error, 'Mars/Olympus' is not an IANA time zone",
        ),
        Case(
            "local-time-with-offset",
            dumped(schedule(local_time="2026-01-16T09:00:00+02:00")),
            "schedule.local_time: Input should not have timezone info",
        ),
        Case(
            "impossible-date",
            dumped(schedule(local_time="2026-02-30T09:00:00")),
            "schedule.local_time: Input should be a valid datetime",
        ),
        Case(
            "send-at-and-local-time",
            dumped(schedule(send_at="2026-01-16T09:00:00Z", local_time="2026-01-16T09:00:00")),
            "give send_at or local_time, not both",
        ),
        Case(
            "past-its-ttl",
            dumped(event(schedule={"send_at": (now - timedelta(hours=1)).isoformat()}, **ttl(60))),
            "options.ttl_seconds: the TTL of 60 s counted from schedule.send_at ended",
        ),
        Case(
            "already-expired",
            dumped(schedule(expires_at=(now - timedelta(minutes=5)).isoformat())),
            "schedule.expires_at: passed 5 min ago; nothing would be sent",
        ),
        Case(
            "far-past",
            dumped(schedule(send_at="1970-01-01T00:00:00Z")),
            "schedule.send_at: is more than 7 days in the past",
        ),
        Case(
            "far-future",
            dumped(schedule(send_at="9999-12-31T23:59:59Z")),
            "schedule.send_at: is more than 365 days ahead; the limit is 365 days",
        ),
    ]


def hostile_overrides(intake: Intake) -> list[Case]:
    """Overrides a provider refuses, which ingest refuses naming the field (a subset of the list
    in tests/unit/platforms/test_refused_overrides.py)."""
    silent = {"data": {"k": "v"}}

    def override(name: str, fields: dict[str, Any], overrides: Event, reason: str) -> Case:
        return Case(name, dumped(intake.event(content={**fields, "overrides": overrides})), reason)

    title = {"title": "T"}
    return [
        override(
            "background-push-at-priority-10",
            silent,
            {"apns": {"headers": {"apns-priority": "10"}}},
            "content.overrides.apns.headers.apns-priority: must be 5 or 1 for a background push",
        ),
        override(
            "apns-without-aps",
            title,
            {"apns": {"payload": {"aps": None}}},
            "content.overrides.apns.payload.aps: aps must be a dictionary",
        ),
        override(
            "apns-transport-header",
            title,
            {"apns": {"headers": {"apns-topic": "com.other.app"}}},
            "content.overrides.apns.headers.apns-topic: a transport header Herald sets itself",
        ),
        override(
            "unknown-fcm-field",
            title,
            {"android": {"priorty": "HIGH"}},
            "content.overrides.android: FCM refuses it: Invalid JSON payload received. Unknown "
            'name "priorty"',
        ),
        override(
            "non-string-fcm-data",
            title,
            {"android": {"data": {"n": 1}}},
            "content.overrides.android.data.n: FCM refuses it",
        ),
        override(
            "android-ttl-over-four-weeks",
            title,
            {"android": {"ttl": "2419201s"}},
            "content.overrides.android.ttl: FCM refuses it: TTL must be between 0 and 2419200",
        ),
    ]


def misspelt(event: Event, field: str, as_written: str) -> Event:
    """``event`` with ``field`` renamed as a sender might mistype it."""
    return {as_written if name == field else name: value for name, value in event.items()}


def case_named(cases: list[Case], name: str) -> Case:
    return next(case for case in cases if case.name == name)


def ttl(seconds: int) -> Event:
    return {"options": {"ttl_seconds": seconds}}


async def test_every_kind_of_bad_input_is_rejected_and_good_events_keep_flowing(
    intake: Intake,
) -> None:
    now = intake.clock.now()
    cases = catalogue(intake, now)
    duplicate_key = unique("dup")
    first = intake.event(["dup-first"], idempotency_key=duplicate_key)
    changed = intake.event(["dup-first"], idempotency_key=duplicate_key, content={"title": "X"})
    records: list[tuple[bytes | None, bytes]] = [(b"dup", dumped(first))]
    good_users = ["dup-first"]
    for number, case in enumerate(cases):
        records.append((case.name.encode(), case.value))
        if number % 3 == 0:
            good_users.append(f"good-{number}")
            records.append((f"good-{number}".encode(), dumped(intake.event([good_users[-1]]))))
    records.append((b"dup", dumped(changed)))
    misspelt_cancel = dumped(
        misspelt(intake.cancel_requested(duplicate_key), "idempotency_key", "idempotency_kee")
    )

    await intake.io.produce_raw(topics.SUBMITTED, *records)
    await intake.io.produce_raw(topics.CANCEL_REQUESTED, (b"misspelt-cancel", misspelt_cancel))
    rejected = await intake.rejections({case.name for case in cases} | {"dup", "misspelt-cancel"})
    delivered = await intake.io.read(
        topics.USER, until=lambda found: set(good_users) <= {e.user_id for e in found}
    )

    wrong = {
        case.name: rejected[case.name].reason
        for case in cases
        if case.reason not in rejected[case.name].reason
    }
    assert len(cases) >= 15
    assert not wrong, f"refused with another reason: {wrong}"
    assert all(rejected[c.name].source.value == c.value for c in cases if c.name != "huge")
    assert case_named(cases, "huge").value.startswith(rejected["huge"].source.value)
    assert "was already used for notification" in rejected["dup"].reason
    assert rejected["dup"].idempotency_key == duplicate_key
    assert rejected["unknown-version"].app_id == APP
    assert not {r for r in rejected if r.startswith("good-")}
    assert rejected["misspelt-cancel"].reason.startswith(
        "idempotency_kee: unknown field; did you mean 'idempotency_key'?"
    )
    assert sorted(e.user_id for e in delivered) == sorted(good_users)


async def test_a_replay_after_the_deadline_is_answered_as_before(intake: Intake) -> None:
    body = {
        "idempotency_key": unique("key"),
        "audience": {"user_ids": ["late"]},
        "content": {"title": "Soon"},
        "options": {"ttl_seconds": 60},
        "schedule": {"send_at": intake.clock.now().isoformat()},
    }
    first = await intake.http.post("/v1/notifications", json=body)
    intake.clock.advance(minutes=5)

    replay = await intake.http.post("/v1/notifications", json=body)
    fresh = await intake.http.post(
        "/v1/notifications", json={**body, "idempotency_key": unique("key")}
    )

    assert first.status_code == 202, first.text
    assert replay.status_code == 202, replay.text
    assert replay.json() == first.json()
    assert fresh.status_code == 422
    assert fresh.json()["error"]["field"] == "options.ttl_seconds"


def http_refusals() -> list[tuple[Event, str, str]]:
    """Fields merged over a valid body (None: left out), the field refused, part of the message."""
    return [
        (
            {"content": {"title": "T", "body": "b" * 1000, "deep_link": "app://" + "d" * 2000}},
            "content",
            "3993",
        ),
        ({"content": {"title": "a\x00b"}}, "content.title", "NUL character"),
        (
            {"content": {"title": "T", "overrides": {"webpush": {"headers": {"Urgency": "asap"}}}}},
            "content.overrides.webpush.headers.Urgency",
            "must be one of high, low, normal, very-low",
        ),
        (
            {
                "content": {
                    "data": {"k": "v"},
                    "overrides": {"apns": {"headers": {"apns-priority": "10"}}},
                }
            },
            "content.overrides.apns.headers.apns-priority",
            "must be 5 or 1 for a background push",
        ),
        (
            {"content": {"title": "T", "overrides": {"android": {"ttl": "1d"}}}},
            "content.overrides.android.ttl",
            "FCM refuses it",
        ),
        (
            {
                "content": {
                    "title": "T",
                    "overrides": {"apns": {"headers": {"authorization": "bearer x"}}},
                }
            },
            "content.overrides.apns.headers.authorization",
            "a transport header Herald sets itself",
        ),
        ({"audience": {"user_id": ["u"]}}, "audience.user_id", "did you mean 'user_ids'?"),
        ({"options": {"ttl_second": 60}}, "options.ttl_second", "did you mean 'ttl_seconds'?"),
        (
            {"audience": None, "audiance": {"user_ids": ["u"]}},
            "audiance",
            "audiance: unknown field; did you mean 'audience'?; audience: Field required",
        ),
    ]


async def test_http_refuses_the_same_input_naming_the_field_and_limit(intake: Intake) -> None:
    for fields, field, message in http_refusals():
        valid = {"idempotency_key": unique("key"), "audience": {"user_ids": ["u"]}}
        body = {"content": {"title": "T"}, **valid, **fields}
        response = await intake.http.post(
            "/v1/notifications", json={k: v for k, v in body.items() if v is not None}
        )

        assert response.status_code == 422, fields
        assert response.json()["error"]["field"] == field
        assert message in response.json()["error"]["message"]
