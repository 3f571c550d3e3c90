"""The emulators' connection-level faults, read frame by frame at the wire: a graceful GOAWAY
answers the requests it names and refuses newer ones unprocessed; an outage refuses connections
and resets open ones, and the port listens again when it ends."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import h2.config
import h2.connection
import h2.errors
import hpack
import httpx
import pytest
from hyperframe.frame import Frame, GoAwayFrame, HeadersFrame, RstStreamFrame

from services.emulators.serving import LOOPBACK
from tests.support.fcm import RunningEmulator, fcm_emulator

pytestmark = pytest.mark.integration

#: Every reply waits this long, so a request is still in flight when the fault is played.
REPLY_LATENCY_SECONDS = 0.5


@pytest.fixture
async def emulator(tmp_path: Path) -> AsyncIterator[RunningEmulator]:
    async with fcm_emulator(tmp_path) as running:
        yield running


async def control(emulator: RunningEmulator, path: str, body: object = None) -> httpx.Response:
    async with httpx.AsyncClient(base_url=emulator.base_url, trust_env=False) as client:
        if path == "/emulator/latency":
            return await client.put(path, json=body)
        return await client.post(path, json=body)


async def connect(emulator: RunningEmulator) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    context = ssl.create_default_context(cafile=str(emulator.ca.cert_path))
    context.set_alpn_protocols(["h2"])
    return await asyncio.open_connection(LOOPBACK, emulator.tls_port, ssl=context)


def request(client: h2.connection.H2Connection, stream_id: int, emulator: RunningEmulator) -> None:
    path = f"/v1/projects/{emulator.project_id}/messages:send"
    headers = [(":method", "POST"), (":scheme", "https"), (":authority", LOOPBACK)]
    client.send_headers(stream_id, [*headers, (":path", path)])
    client.send_data(stream_id, b"{}", end_stream=True)


async def frames_until_closed(reader: asyncio.StreamReader) -> list[Frame]:
    """Every frame the server sends until it closes the connection."""
    found: list[Frame] = []
    async with asyncio.timeout(10):
        while header := await reader.read(9):
            header += await reader.readexactly(9 - len(header))
            frame, length = Frame.parse_frame_header(memoryview(header))
            frame.parse_body(memoryview(await reader.readexactly(length)))
            found.append(frame)
    return found


async def gone(reader: asyncio.StreamReader) -> None:
    """Return once the server closed or reset the connection (the test's timeout bounds it)."""
    try:
        async with asyncio.timeout(5):
            while await reader.read(65536):
                pass
    except ConnectionError:
        return


async def test_a_graceful_goaway_answers_the_streams_it_names_and_refuses_newer_ones(
    emulator: RunningEmulator,
) -> None:
    latency = await control(emulator, "/emulator/latency", {"seconds": REPLY_LATENCY_SECONDS})
    assert latency.status_code == 204
    reader, writer = await connect(emulator)
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    request(client, 1, emulator)
    writer.write(client.data_to_send())
    await writer.drain()
    await asyncio.sleep(REPLY_LATENCY_SECONDS / 5)

    reply = await control(emulator, "/emulator/goaway")
    request(client, 3, emulator)
    writer.write(client.data_to_send())
    await writer.drain()
    frames = await frames_until_closed(reader)
    writer.close()

    assert reply.json() == {"connections": 1}
    goaways = [f for f in frames if isinstance(f, GoAwayFrame)]
    assert [(g.last_stream_id, g.error_code) for g in goaways][:1] == [(1, 0)]
    headers = [f for f in frames if isinstance(f, HeadersFrame)]
    assert [f.stream_id for f in headers] == [1], "the named stream is answered after the GOAWAY"
    assert frames.index(goaways[0]) < frames.index(headers[0])
    status = dict(hpack.Decoder().decode(headers[0].data, raw=True))[b":status"]
    assert status == b"401", "the emulator processed it (no access token: FCM's answer)"
    refused = [(f.stream_id, f.error_code) for f in frames if isinstance(f, RstStreamFrame)]
    assert refused == [(3, h2.errors.ErrorCodes.REFUSED_STREAM)]


async def test_an_outage_refuses_connections_resets_open_ones_and_ends(
    emulator: RunningEmulator,
) -> None:
    reader, writer = await connect(emulator)
    assert (await control(emulator, "/emulator/outage", {"seconds": 1.0})).status_code == 204

    await gone(reader)
    writer.close()
    with pytest.raises(ConnectionRefusedError):
        await connect(emulator)
    async with asyncio.timeout(10):
        while True:
            await asyncio.sleep(0.1)
            try:
                _, writer = await connect(emulator)
            except ConnectionRefusedError:
                continue
            writer.close()
            break


@pytest.mark.parametrize("body", [{}, {"seconds": 0}, {"seconds": 3601}, {"seconds": "x"}])
async def test_an_outage_needs_a_duration_within_an_hour(
    emulator: RunningEmulator, body: dict[str, object]
) -> None:
    reply = await control(emulator, "/emulator/outage", body)

    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "invalid_fault"
