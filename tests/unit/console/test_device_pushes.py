"""A device's recent pushes on the users page, gathered from the user's timelines."""

from __future__ import annotations

from typing import Any

import pytest

from services.console.users import DevicePush, pushes_by_device

pytestmark = pytest.mark.unit

PIXEL, IPHONE = "d-pixel", "d-iphone"


def device(device_id: str | None, outcome: str, *steps: str, **extra: object) -> dict[str, object]:
    return {
        "device_id": device_id,
        "platform": "fcm",
        "outcome": outcome,
        "provider_status": extra.get("provider_status"),
        "reason": extra.get("reason"),
        "steps": [{"stage": "sent", "occurred_at": at} for at in steps],
    }


def test_each_device_gets_its_outcome_of_each_notification_newest_first() -> None:
    inbox: list[dict[str, Any]] = [
        {"notification_id": "n2", "content": {"title": "Shipped"}},
        {"notification_id": "n1", "content": None},
        {"notification_id": "n0", "content": {"title": "Waiting"}},
    ]
    timelines: list[dict[str, Any] | None] = [
        {
            "devices": [
                device(PIXEL, "delivered", "t1", "t2", provider_status=200),
                device(IPHONE, "failed", "t3", provider_status=410, reason="Unregistered"),
            ]
        },
        {"devices": [device(PIXEL, "expired"), device(None, "no_device")]},
        None,
    ]

    found = pushes_by_device(inbox, timelines)

    assert found == {
        PIXEL: [
            DevicePush("n2", "Shipped", "delivered", 200, None, "t2"),
            DevicePush("n1", "n1", "expired", None, None, None),
        ],
        IPHONE: [DevicePush("n2", "Shipped", "failed", 410, "Unregistered", "t3")],
    }


def test_no_timelines_no_pushes() -> None:
    assert pushes_by_device([{"notification_id": "n1"}], [None]) == {}
