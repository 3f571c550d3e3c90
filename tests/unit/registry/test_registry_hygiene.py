"""Token hygiene's rules: which active devices are stale, which inactive rows can go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.registry.devices.domain import is_forgotten, is_stale
from tests.support.factories import device

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MONTH = timedelta(days=30)


def test_an_active_device_is_stale_once_unregistered_for_longer_than_the_limit() -> None:
    assert is_stale(device(NOW - MONTH - timedelta(seconds=1)), NOW, MONTH)
    assert not is_stale(device(NOW - MONTH), NOW, MONTH)
    assert not is_stale(device(NOW - timedelta(days=1)), NOW, MONTH)


def test_a_recent_success_does_not_keep_an_unregistered_device_fresh() -> None:
    old = device(NOW - 2 * MONTH, last_success_at=NOW - timedelta(hours=1))

    assert is_stale(old, NOW, MONTH)


def test_an_inactive_device_is_never_stale() -> None:
    gone = device(NOW - 2 * MONTH, active=False, deactivated_at=NOW - MONTH)

    assert not is_stale(gone, NOW, MONTH)


def test_an_inactive_device_is_forgotten_once_inactive_for_longer_than_the_limit() -> None:
    def stopped(at: datetime) -> bool:
        return is_forgotten(
            device(NOW - 6 * MONTH, active=False, deactivated_at=at), NOW, 3 * MONTH
        )

    assert stopped(NOW - 3 * MONTH - timedelta(seconds=1))
    assert not stopped(NOW - 3 * MONTH)
    assert not stopped(NOW - timedelta(days=1))


def test_an_active_device_is_never_forgotten_however_old() -> None:
    assert not is_forgotten(device(NOW - 12 * MONTH), NOW, MONTH)
