"""Bodies wait for flow-control window on a WindowedH2Connection, against an in-memory h2 server."""

from __future__ import annotations

import h2.config
import h2.errors
import h2.events
import pytest

from services.dispatcher.platforms.apns.windowed_h2 import WindowedH2Connection
from tests.support.h2_memory import DEFAULT_WINDOW, MemoryH2Server

pytestmark = pytest.mark.unit

BODY = b"x" * 4000
HEADERS = [(":method", "POST"), (":scheme", "https"), (":path", "/"), (":authority", "a")]


def connected(server: MemoryH2Server) -> WindowedH2Connection:
    client = WindowedH2Connection(h2.config.H2Configuration(client_side=True))
    client.initiate_connection()
    server.read(client.data_to_send())
    client.receive_data(server.h2.data_to_send())
    server.read(client.data_to_send())
    return client


def post(client: WindowedH2Connection, body: bytes) -> int:
    stream_id = client.get_next_available_stream_id()
    client.send_headers(stream_id, HEADERS)
    client.send_data(stream_id, body, end_stream=True)
    return stream_id


def exchange(client: WindowedH2Connection, server: MemoryH2Server, rounds: int = 100) -> None:
    """Bytes both ways, the server crediting all it read each time, until nothing moves."""
    for _ in range(rounds):
        outgoing = client.data_to_send()
        server.read(outgoing)
        server.credit()
        incoming = server.h2.data_to_send()
        if not outgoing and not incoming:
            return
        client.receive_data(incoming)


def test_bodies_past_the_window_wait_then_all_arrive_whole() -> None:
    server = MemoryH2Server()
    client = connected(server)
    streams = [post(client, BODY) for _ in range(40)]

    server.read(client.data_to_send())
    assert server.received == DEFAULT_WINDOW
    exchange(client, server)

    assert set(server.ended) == set(streams)
    assert all(server.bodies[s] == BODY for s in streams)
    assert client.take_unsent() == []


def test_a_body_larger_than_the_stream_window_leaves_in_window_sized_frames() -> None:
    server = MemoryH2Server(stream_window=1000)
    client = connected(server)
    streams = [post(client, BODY) for _ in range(3)]

    exchange(client, server)

    assert set(server.ended) == set(streams)
    assert all(server.bodies[s] == BODY for s in streams)
    assert server.largest_frame == 1000


def test_a_body_sent_in_two_parts_keeps_its_order_while_waiting() -> None:
    server = MemoryH2Server()
    client = connected(server)
    for _ in range(17):
        post(client, BODY)
    stream_id = client.get_next_available_stream_id()
    client.send_headers(stream_id, HEADERS)
    client.send_data(stream_id, b"first " * 100)
    client.send_data(stream_id, b"second " * 100, end_stream=True)

    exchange(client, server)

    assert server.bodies[stream_id] == b"first " * 100 + b"second " * 100
    assert stream_id in server.ended


def test_a_stream_the_server_resets_while_waiting_is_dropped_and_the_rest_go() -> None:
    server = MemoryH2Server()
    client = connected(server)
    streams = [post(client, BODY) for _ in range(20)]
    server.read(client.data_to_send())
    waiting = streams[-1]
    server.h2.reset_stream(waiting, h2.errors.ErrorCodes.CANCEL)

    exchange(client, server)

    assert set(server.ended) == set(streams) - {waiting}
    assert client.take_unsent() == []


def test_a_stream_reset_while_no_window_is_open_is_no_longer_waiting() -> None:
    server = MemoryH2Server()
    client = connected(server)
    streams = [post(client, BODY) for _ in range(20)]
    server.read(client.data_to_send())
    server.h2.reset_stream(streams[-1], h2.errors.ErrorCodes.REFUSED_STREAM)

    client.receive_data(server.h2.data_to_send())

    assert client.take_unsent() == streams[16:-1]


def test_on_goaway_the_waiting_bodies_stay_for_the_caller_to_take() -> None:
    server = MemoryH2Server()
    client = connected(server)
    streams = [post(client, BODY) for _ in range(20)]
    server.read(client.data_to_send())
    server.credit()
    server.h2.close_connection(last_stream_id=streams[-1])

    events = client.receive_data(server.h2.data_to_send())

    assert any(isinstance(e, h2.events.ConnectionTerminated) for e in events)
    assert client.take_unsent() == streams[16:]


def test_a_waiting_body_withdrawn_never_leaves_its_stream_is_reset_and_the_rest_go() -> None:
    server = MemoryH2Server()
    client = connected(server)
    streams = [post(client, BODY) for _ in range(20)]
    server.read(client.data_to_send())
    sent, waiting = streams[0], streams[17]

    assert (client.withdraw(waiting), client.withdraw(sent)) == (True, False)
    exchange(client, server)

    assert server.reset == {waiting: h2.errors.ErrorCodes.CANCEL}
    assert waiting not in server.bodies
    assert set(server.ended) == set(streams) - {waiting}
    assert client.take_unsent() == []
