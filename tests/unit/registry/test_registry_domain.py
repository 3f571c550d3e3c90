"""The registry's pure rules: token formats, who receives a push, what a provider result changes."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.base import derived_id
from contracts.content import Content, DeliveryOptions
from contracts.notifications import NotificationCounted
from contracts.push import PushResult
from contracts.trace import MAX_REASON_CHARS
from services.registry.devices import domain
from services.registry.devices.domain import Device
from shared.platforms import canonical_token
from shared.platforms.base import TokenFormatError
from tests.support.factories import FCM_TOKEN, device

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
APNS_TOKEN = "ab" * 32


def counted(**fields: Any) -> NotificationCounted:
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "app_id": "app",
        "occurred_at": NOW,
        "notification_id": uuid.uuid4(),
        "user_id": "alice",
        "content": Content(title="Hi", body="there"),
        "options": DeliveryOptions(priority="normal", collapse_key="news"),
        "accepted_at": NOW - timedelta(seconds=5),
        "due_at": NOW,
        "badge": 3,
        "badge_seq": 7,
    }
    values.update(fields)
    return NotificationCounted(**values)


def result(target: Device, outcome: str, **fields: Any) -> PushResult:
    values: dict[str, Any] = {
        "event_id": uuid.uuid4(),
        "app_id": target.app_id,
        "occurred_at": NOW + timedelta(minutes=1),
        "request_event_id": uuid.uuid4(),
        "notification_id": uuid.uuid4(),
        "user_id": target.user_id,
        "device_id": target.device_id,
        "platform": target.platform,
        "token": target.token,
        "outcome": outcome,
        "attempts": 1,
        "accepted_at": NOW,
    }
    values.update(fields)
    return PushResult(**values)


WEBPUSH_TOKEN = (
    '{"endpoint":"https://fcm.googleapis.com/fcm/send/abc-123","keys":{"p256dh":"BCVxsr7N_eNgVRqv'
    'HtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4","auth":'
    '"BTBZMqHH6r4Tts7J_aSIgg"}}'
)


class TestTokens:
    def test_apns_tokens_are_lower_cased_hex(self) -> None:
        assert canonical_token("apns", "AB" * 32) == "ab" * 32

    @pytest.mark.parametrize(
        ("platform", "token", "message"),
        [
            ("apns", "ab" * 10, "apns tokens are 64 to 200 characters long; this one has 20"),
            ("apns", "zz" * 32, "apns tokens contain only hexadecimal digits"),
            ("fcm", "short", "fcm tokens are 32 to 4096 characters long; this one has 5"),
            ("fcm", "a b" * 20, "fcm tokens contain only letters, digits"),
            ("webpush", "", "webpush tokens are 1 to 4096 characters long; this one has 0"),
            ("webpush", "x" * 4097, "4096 characters long; this one has 4097"),
            ("webpush", "line\nbreak", "webpush tokens contain only printable ASCII"),
            ("webpush", "https://push.example.net/x", "a webpush token is a PushSubscription"),
            (
                "webpush",
                WEBPUSH_TOKEN.replace("fcm.googleapis.com", "10.0.0.1"),
                "10.0.0.1 is an IP address",
            ),
        ],
    )
    def test_a_token_breaking_its_platform_rule_is_refused_with_the_limit(
        self, platform: Any, token: str, message: str
    ) -> None:
        with pytest.raises(TokenFormatError, match=message):
            canonical_token(platform, token)

    @pytest.mark.parametrize(
        ("platform", "token"),
        [
            ("apns", APNS_TOKEN),
            ("fcm", FCM_TOKEN),
            ("webpush", WEBPUSH_TOKEN),
        ],
    )
    def test_well_formed_tokens_pass_unchanged(self, platform: Any, token: str) -> None:
        assert canonical_token(platform, token) == token


class TestFanOut:
    def test_every_active_device_of_the_user_gets_one_request(self) -> None:
        phone, tablet = device(NOW), device(NOW, platform="apns", token=APNS_TOKEN)
        event = counted()

        requests = domain.fan_out(event, [phone, tablet], NOW)

        assert [(r.device_id, r.platform, r.token) for r in requests] == [
            (phone.device_id, "fcm", phone.token),
            (tablet.device_id, "apns", tablet.token),
        ]
        first = requests[0]
        assert first.event_id == derived_id(event.event_id, phone.device_id)
        assert (first.badge, first.badge_seq) == (3, 7)
        assert first.content == event.content
        assert first.options == event.options
        assert first.accepted_at == event.accepted_at
        assert first.notification_id == event.notification_id
        assert (first.app_id, first.user_id, first.occurred_at) == ("app", "alice", NOW)

    def test_a_redelivered_notification_yields_the_same_ids(self) -> None:
        phone, event = device(NOW), counted()
        first = domain.fan_out(event, [phone], NOW)
        again = domain.fan_out(event, [phone], NOW + timedelta(minutes=3))
        assert [r.event_id for r in first] == [r.event_id for r in again]

    def test_inactive_devices_and_other_users_or_apps_get_nothing(self) -> None:
        devices = [
            device(NOW, active=False),
            device(NOW, user_id="bob"),
            device(NOW, app_id="other-app"),
        ]
        assert domain.fan_out(counted(), devices, NOW) == []

    def test_a_user_without_devices_gets_nothing(self) -> None:
        assert domain.fan_out(counted(), [], NOW) == []


class TestResults:
    def test_an_invalid_token_deactivates_the_device_with_the_providers_reason(self) -> None:
        phone = device(NOW)
        after = domain.apply_result(
            phone, result(phone, "token_invalid", reason="UNREGISTERED"), NOW
        )
        assert not after.active
        assert after.deactivation_reason == "UNREGISTERED"
        assert after.deactivated_at == NOW
        assert after.updated_at == NOW

    def test_without_a_reason_the_outcome_is_the_reason(self) -> None:
        phone = device(NOW)
        after = domain.apply_result(phone, result(phone, "token_invalid"), NOW)
        assert after.deactivation_reason == domain.TOKEN_INVALID

    def test_a_verdict_after_the_last_registration_deactivates(self) -> None:
        phone = device(NOW, last_registered_at=NOW)
        verdict = result(phone, "token_invalid", invalid_since=NOW + timedelta(seconds=1))
        assert domain.deactivates(phone, verdict)

    @pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=-1)])
    def test_a_token_registered_again_after_the_verdict_stays_active(
        self, offset: timedelta
    ) -> None:
        phone = device(NOW, last_registered_at=NOW)
        verdict = result(phone, "token_invalid", invalid_since=NOW + offset)
        assert not domain.deactivates(phone, verdict)
        assert domain.apply_result(phone, verdict, NOW) == phone

    def test_a_verdict_about_another_token_or_app_changes_nothing(self) -> None:
        phone = device(NOW)
        assert not domain.deactivates(phone, result(phone, "token_invalid", token="x" * 40))
        assert not domain.deactivates(phone, result(phone, "token_invalid", app_id="other"))

    def test_an_already_inactive_device_keeps_why_it_stopped(self) -> None:
        phone = device(
            NOW, active=False, deactivation_reason=domain.UNREGISTERED, deactivated_at=NOW
        )
        later = NOW + timedelta(hours=1)
        assert domain.apply_result(phone, result(phone, "token_invalid"), later) == phone

    @pytest.mark.parametrize("outcome", ["failed", "expired"])
    def test_other_failures_change_nothing(self, outcome: str) -> None:
        phone = device(NOW)
        assert domain.apply_result(phone, result(phone, outcome), NOW) == phone

    def test_a_delivery_records_the_latest_success(self) -> None:
        phone = device(NOW)
        delivered = result(phone, "delivered")
        after = domain.apply_result(phone, delivered, NOW)
        assert after.last_success_at == delivered.occurred_at
        assert after.active

    def test_the_last_success_is_written_again_only_once_it_is_an_hour_old(self) -> None:
        phone = device(NOW, last_success_at=NOW)
        soon = result(phone, "delivered", occurred_at=NOW + timedelta(minutes=59))
        later = result(phone, "delivered", occurred_at=NOW + domain.SUCCESS_RESOLUTION)
        assert domain.apply_result(phone, soon, NOW) == phone
        assert domain.apply_result(phone, later, NOW).last_success_at == later.occurred_at

    def test_an_older_delivery_never_moves_the_last_success_back(self) -> None:
        phone = device(NOW, last_success_at=NOW + timedelta(hours=1))
        assert domain.apply_result(phone, result(phone, "delivered"), NOW) == phone

    def test_results_apply_in_order_and_only_changed_devices_come_back(self) -> None:
        phone, tablet, watch = device(NOW), device(NOW), device(NOW)
        results = [
            result(phone, "delivered"),
            result(phone, "token_invalid", reason="BadDeviceToken"),
            result(tablet, "failed"),
            result(watch, "delivered"),
            result(device(NOW), "token_invalid"),
        ]
        devices = {d.device_id: d for d in (phone, tablet, watch)}

        changed = domain.apply_results(devices, results, NOW)

        assert changed == [
            dataclasses.replace(
                phone,
                active=False,
                deactivated_at=NOW,
                deactivation_reason="BadDeviceToken",
                updated_at=NOW,
                last_success_at=results[0].occurred_at,
            ),
            dataclasses.replace(watch, last_success_at=results[3].occurred_at),
        ]


class TestTrace:
    def test_fan_out_reports_the_devices_pushed_and_left_out_per_platform(self) -> None:
        phone, tablet = device(NOW), device(NOW)
        laptop = device(NOW, platform="apns", token=APNS_TOKEN)
        event = counted()
        pushes = domain.fan_out(event, [phone, tablet], NOW)

        fanned_out, withheld = domain.traced_fan_out(event, pushes, [laptop], NOW)

        assert (fanned_out.stage, fanned_out.devices, fanned_out.reason) == (
            "fanned_out",
            {"fcm": 2},
            None,
        )
        assert (withheld.stage, withheld.devices, withheld.reason) == (
            "withheld",
            {"apns": 1},
            "channel_opt_out",
        )
        for step in (fanned_out, withheld):
            assert (step.notification_id, step.user_id, step.device_id, step.occurred_at) == (
                event.notification_id,
                "alice",
                None,
                NOW,
            )
        assert fanned_out.event_id != withheld.event_id

    def test_a_user_with_no_active_device_is_reported_once_the_same_way(self) -> None:
        event = counted()

        [first] = domain.traced_fan_out(event, [], [], NOW)
        [again] = domain.traced_fan_out(event, [], [], NOW + timedelta(minutes=1))

        assert (first.stage, first.devices) == ("no_device", {})
        assert first.event_id == again.event_id

    def test_a_user_whose_devices_were_all_left_out_is_withheld_only(self) -> None:
        [step] = domain.traced_fan_out(counted(), [], [device(NOW)], NOW)
        assert (step.stage, step.reason) == ("withheld", "channel_opt_out")

    def test_a_deactivation_is_reported_in_the_timeline_of_the_push_that_proved_it(
        self,
    ) -> None:
        phone, tablet = device(NOW), device(NOW)
        proof = result(phone, "token_invalid", reason="x" * 600)
        results = [result(phone, "delivered"), proof, result(tablet, "delivered")]
        devices = {d.device_id: d for d in (phone, tablet)}
        changed = domain.apply_results(devices, results, NOW)

        [step] = domain.traced_deactivations(
            [(devices[d.device_id], d) for d in changed], results, NOW
        )

        assert (step.stage, step.notification_id, step.device_id, step.platform) == (
            "token_deactivated",
            proof.notification_id,
            phone.device_id,
            "fcm",
        )
        assert step.reason == "x" * (MAX_REASON_CHARS - 3) + "..."
        assert phone.token not in step.model_dump_json()
