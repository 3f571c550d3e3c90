"""``herald dlq`` on the real broker: a push the provider refused for good is parked (with its
``parked`` trace step), and once the fault is gone ``herald dlq replay`` re-drives it; it arrives
once."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from contracts import topics
from contracts.codec import encode
from contracts.deadletter import DeadLetter
from contracts.push import PushResult
from contracts.trace import NotificationTraced
from services.dispatcher.app import build
from services.dispatcher.settings import DispatcherSettings
from services.registry.apps.cli import main
from shared.embedded.brokers import LocalBroker
from shared.embedded.ports import free_port
from shared.settings import KafkaSettings, env_name
from tests.support.clock import FrozenClock
from tests.support.factories import push_request
from tests.support.fcm import fcm_emulator
from tests.support.kafka import TopicIO, kafka_settings_for_test
from tests.support.services import running

pytestmark = pytest.mark.integration

TRACEPARENT = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def herald(
    kafka: KafkaSettings, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, list[str]]:
    """Run the ``herald`` command as an operator would, with only the Kafka settings."""
    with pytest.MonkeyPatch.context() as env:
        for field in ("kafka_bootstrap", "topic_prefix", "kafka_idempotence"):
            env.setenv(env_name(field), str(getattr(kafka, field)))
        status = await asyncio.to_thread(main, list(argv))
    return status, capsys.readouterr().out.splitlines()


async def test_a_push_parked_by_a_permanent_provider_error_is_replayed_and_arrives_once(
    broker: LocalBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FrozenClock(datetime.now().astimezone())
    kafka = kafka_settings_for_test(broker.bootstrap)
    io = TopicIO(kafka)
    parking = topics.by_name("push.fcm.dlq")
    async with fcm_emulator(tmp_path) as emulator:
        settings = DispatcherSettings(
            **kafka.model_dump(), **emulator.dispatcher_settings(), http_port=free_port()
        )
        request = push_request(clock.now(), "fcm")
        await emulator.control("/emulator/faults", {"status": 400, "count": 1})
        async with running(await build(settings, clock)):
            await io.produce_raw(
                topics.PUSH["fcm"],
                (topics.PUSH["fcm"].key_of(request), encode(request)),
                headers=[("traceparent", TRACEPARENT)],
            )
            [parked] = await io.read(parking, until=lambda found: len(found) >= 1)
            traced = await io.read(
                topics.TRACE,
                until=lambda found: any(event.stage == "parked" for event in found),
            )
            assert await emulator.recorded(request.token) == []

            listed_status, listed = await herald(kafka, capsys, "dlq", "list", "push.fcm.dlq")
            _, not_of_app = await herald(
                kafka, capsys, "dlq", "list", "push.fcm.dlq", "--app", "otherapp"
            )
            offset = listed[0].split()[0].split(":")[1]
            _, shown = await herald(kafka, capsys, "dlq", "show", "push.fcm.dlq", offset)
            _, planned = await herald(
                kafka, capsys, "dlq", "replay", "push.fcm.dlq", "--offset", offset, "--dry-run"
            )
            replay_status, replayed = await herald(
                kafka,
                capsys,
                "dlq",
                "replay",
                "push.fcm.dlq",
                "--reason",
                "400",
                "--app",
                "testapp",
            )
            results = await io.read(topics.RESULTS, until=lambda found: len(found) >= 2)
            pushes = await io.read(
                topics.PUSH["fcm"], until=lambda found: len(found) >= 2, decoded=False
            )
        accepted = await emulator.recorded(request.token)

    assert isinstance(parked, DeadLetter)
    assert parked.consumer_group == "dispatcher-fcm"
    [step] = [event for event in traced if event.stage == "parked"]
    assert isinstance(step, NotificationTraced)
    assert (step.notification_id, step.user_id, step.device_id, step.platform) == (
        request.notification_id,
        request.user_id,
        request.device_id,
        "fcm",
    )
    assert step.reason == parked.reason
    assert (listed_status, replay_status) == (0, 0)
    [line] = listed
    assert not_of_app == [f"nothing parked on {kafka.topic_prefix}push.fcm.dlq matches"]
    assert line.startswith("0:")
    assert "dispatcher-fcm" in line
    assert f"{kafka.topic_prefix}push.fcm" in line
    assert "consumer group: dispatcher-fcm" in shown
    assert f"  traceparent: {TRACEPARENT.decode()}" in shown
    assert f'  "notification_id": "{request.notification_id}",' in shown
    assert planned[0] == f"would replay 0:{offset} to {kafka.topic_prefix}push.fcm"
    assert replayed[0].startswith(f"replayed {line.split()[0]} to {kafka.topic_prefix}push.fcm")
    assert replayed[-1].startswith("1 replayed, 0 skipped, 0 failed")
    assert [r.outcome for r in results if isinstance(r, PushResult)] == ["failed", "delivered"]
    assert pushes[1].value == pushes[0].value
    assert pushes[1].headers[0] == ("traceparent", TRACEPARENT)
    assert len(accepted) == 1
    assert accepted[0]["message"]["data"]["herald_notification_id"] == str(request.notification_id)
