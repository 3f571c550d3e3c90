"""CompactH2Connection's kept count of open streams agrees with h2's own walk, and h2 still
enforces the server's stream limit with it; frames it receives are handled whatever their type,
and one-off header values stay out of the HPACK table. Against an in-memory h2 server."""

from __future__ import annotations

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.exceptions
import pytest
from hyperframe.frame import ExtensionFrame, GoAwayFrame

from services.dispatcher.transport.h2_state import CHECKED_H2, CompactH2Connection
from tests.support.h2_memory import MemoryH2Server

pytestmark = pytest.mark.unit

HEADERS = [(":method", "POST"), (":scheme", "https"), (":path", "/"), (":authority", "a")]


def connected(server: MemoryH2Server) -> CompactH2Connection:
    """A client configured as the dispatcher's (headers sent as given), after the preface."""
    config = h2.config.H2Configuration(client_side=True, normalize_outbound_headers=False)
    client = CompactH2Connection(config)
    client.initiate_connection()
    server.read(client.data_to_send())
    client.receive_data(server.h2.data_to_send())
    server.read(client.data_to_send())
    return client


def open_stream(client: CompactH2Connection, *, ended: bool = True) -> int:
    """A request with a body; unless ``ended``, its headers alone (the stream stays open on the
    client's side too)."""
    stream_id = client.get_next_available_stream_id()
    client.send_headers(stream_id, HEADERS)
    if ended:
        client.send_data(stream_id, b"{}", end_stream=True)
    return stream_id


def deliver(client: CompactH2Connection, server: MemoryH2Server) -> list[h2.events.Event]:
    """The client's bytes to the server, then the server's to the client."""
    server.read(client.data_to_send())
    return client.receive_data(server.h2.data_to_send())


def assert_count_is_h2s(client: CompactH2Connection, expected: int) -> None:
    """The kept count, then h2's walk over what is left: no closed stream may remain for the
    walk to find, so the two see the same streams."""
    assert client.open_outbound_streams == expected
    assert not [s for s, stream in client.streams.items() if stream.closed]
    assert h2.connection.H2Connection._open_streams(client, 1) == expected
    assert client.open_inbound_streams == 0


def test_the_count_follows_opens_replies_resets_and_a_goaway_as_h2_s_walk_does() -> None:
    server = MemoryH2Server(max_streams=6)
    client = connected(server)
    streams = [open_stream(client) for _ in range(4)]
    half_open = [open_stream(client, ended=False) for _ in range(2)]
    assert_count_is_h2s(client, 6)
    with pytest.raises(h2.exceptions.TooManyStreamsError):
        open_stream(client)

    deliver(client, server)
    server.answer(streams[0])
    server.drop(streams[1], h2.errors.ErrorCodes.REFUSED_STREAM)
    deliver(client, server)
    assert_count_is_h2s(client, 4)
    assert client._closed_streams[streams[0]] is h2.stream.StreamClosedBy.RECV_END_STREAM
    assert client._closed_streams[streams[1]] is h2.stream.StreamClosedBy.RECV_RST_STREAM

    client.reset_stream(streams[2], h2.errors.ErrorCodes.CANCEL)
    client.end_stream(half_open[0])
    server.h2.send_headers(half_open[1], [(":status", "200")])
    deliver(client, server)
    assert_count_is_h2s(client, 3)
    assert client._closed_streams[streams[2]] is h2.stream.StreamClosedBy.SEND_RST_STREAM

    server.answer(half_open[0])
    deliver(client, server)
    goaway = GoAwayFrame(0)
    goaway.last_stream_id = half_open[1]
    client.receive_data(goaway.serialize())
    assert_count_is_h2s(client, 2)

    server.h2.send_data(half_open[1], b"", end_stream=True)
    client.end_stream(half_open[1])
    server.answer(streams[3])
    deliver(client, server)
    assert_count_is_h2s(client, 0)
    assert set(client._closed_streams) == {*streams, *half_open}


def test_streams_freed_by_replies_make_room_up_to_the_server_s_limit_again() -> None:
    server = MemoryH2Server(max_streams=3)
    client = connected(server)
    for _ in range(20):
        batch = [open_stream(client) for _ in range(3)]
        with pytest.raises(h2.exceptions.TooManyStreamsError):
            open_stream(client)
        deliver(client, server)
        for stream_id in batch:
            server.answer(stream_id)
        deliver(client, server)
        assert_count_is_h2s(client, 0)
    assert len(client._closed_streams) == 60
    assert not client.streams


def test_a_frame_of_a_type_h2_does_not_know_still_reaches_the_caller() -> None:
    server = MemoryH2Server()
    client = connected(server)
    length, frame_type, flags, stream_id = (5).to_bytes(3, "big"), b"\xb0", b"\x00", bytes(4)

    events = client.receive_data(length + frame_type + flags + stream_id + b"hello")

    assert [type(e) for e in events] == [h2.events.UnknownFrameReceived]
    received = events[0].frame  # type: ignore[attr-defined]
    assert isinstance(received, ExtensionFrame)
    assert received.body == b"hello"
    assert repr(received) == "ExtensionFrame"


def test_lengths_and_paths_stay_out_of_the_header_table_and_repeated_values_go_in() -> None:
    server = MemoryH2Server()
    client = connected(server)
    for length in range(100, 140):
        stream_id = client.get_next_available_stream_id()
        headers = [*HEADERS, ("authorization", "Bearer t"), ("content-length", str(length))]
        client.send_headers(stream_id, headers)
        client.send_data(stream_id, b"x" * length, end_stream=True)
        deliver(client, server)
        server.credit()

    table = client.encoder.header_table.dynamic_entries
    assert sorted(table) == [(b":authority", b"a"), (b"authorization", b"Bearer t")]
    assert server.headers[stream_id][b"content-length"] == b"139"


def test_h2_is_the_release_whose_internals_the_count_follows() -> None:
    assert h2.__version__ == CHECKED_H2, (
        f"h2 {h2.__version__}: check h2_state.py's overrides against its connection.py first"
    )
