"""The emulators' HTTP/2 windows: HTTP/2's defaults unless set, and only what HTTP/2 allows."""

from __future__ import annotations

import pytest

from services.emulators.apns.settings import ApnsEmulatorSettings
from services.emulators.h2_server import FlowWindows

pytestmark = pytest.mark.unit


def test_the_apns_emulator_defaults_to_http2s_windows() -> None:
    assert ApnsEmulatorSettings().flow_windows() == FlowWindows(65_535, 65_535)


@pytest.mark.parametrize(
    ("stream", "connection"), [(0, 65_535), (2**31, 65_535), (65_535, 65_534), (1, 2**31)]
)
def test_a_window_http2_cannot_express_is_refused(stream: int, connection: int) -> None:
    with pytest.raises(ValueError, match="window is"):
        FlowWindows(stream, connection)
