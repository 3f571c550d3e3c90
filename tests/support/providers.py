"""One face for the three provider emulators, so a behaviour suite can run against each alike.

A ``ProviderHarness`` makes device tokens the emulator knows, kills them, plays faults, lists what
the emulator accepted and when requests came, and aims a dispatcher at it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.push import Platform
from tests.support import apns, fcm, webpush
from tests.support.clock import FrozenClock
from tests.support.factories import apns_token


@dataclass
class ProviderHarness:
    """What a behaviour test needs from one platform's emulator."""

    platform: Platform
    settings: dict[str, Any]
    new_token: Callable[[], Awaitable[str]]
    kill: Callable[[str], Awaitable[None]]
    fault: Callable[[int, int, str | None], Awaitable[None]]
    accepted: Callable[[str], Awaitable[list[dict[str, Any]]]]
    shares_clock: bool


@asynccontextmanager
async def provider(
    platform: Platform, folder: Path, clock: FrozenClock
) -> AsyncIterator[ProviderHarness]:
    """Serve ``platform``'s emulator and wrap it in a harness."""
    if platform == "apns":
        async with apns.apns_emulator(folder, clock=clock) as running_apns:
            yield _apns(running_apns)
    elif platform == "fcm":
        async with fcm.fcm_emulator(folder) as running_fcm:
            yield _fcm(running_fcm)
    else:
        async with webpush.webpush_emulator(folder, clock=clock) as running_webpush:
            yield _webpush(running_webpush)


def _apns(emulator: apns.RunningApnsEmulator) -> ProviderHarness:
    async def new_token() -> str:
        return apns_token()

    async def kill(token: str) -> None:
        await emulator.control(f"/emulator/tokens/{token}/unregister")

    async def fault(status: int, count: int, retry_after: str | None) -> None:
        await emulator.control(
            "/emulator/faults", {"status": status, "count": count, "retry_after": retry_after}
        )

    return ProviderHarness(
        "apns",
        emulator.dispatcher_settings(),
        new_token,
        kill,
        fault,
        emulator.recorded,
        shares_clock=True,
    )


def _fcm(emulator: fcm.RunningEmulator) -> ProviderHarness:
    counter = iter(range(1, 1_000_000))

    async def new_token() -> str:
        return f"device-{next(counter)}:APA91b-token"

    async def kill(token: str) -> None:
        await emulator.control(f"/emulator/tokens/{token}/unregister")

    async def fault(status: int, count: int, retry_after: str | None) -> None:
        await emulator.control(
            "/emulator/faults", {"status": status, "count": count, "retry_after": retry_after}
        )

    return ProviderHarness(
        "fcm",
        emulator.dispatcher_settings(),
        new_token,
        kill,
        fault,
        emulator.recorded,
        shares_clock=False,
    )


def _webpush(emulator: webpush.RunningWebPushEmulator) -> ProviderHarness:
    async def kill(token: str) -> None:
        await emulator.control(
            f"/emulator/subscriptions/{webpush.subscription_id(token)}/unsubscribe"
        )

    async def fault(status: int, count: int, retry_after: str | None) -> None:
        await emulator.control(
            "/emulator/faults", {"status": status, "count": count, "retry_after": retry_after}
        )

    return ProviderHarness(
        "webpush",
        emulator.dispatcher_settings(),
        emulator.subscribe,
        kill,
        fault,
        emulator.recorded,
        shares_clock=True,
    )
