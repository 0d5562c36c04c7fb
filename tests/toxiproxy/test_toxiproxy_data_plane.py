"""§11.F: toxics on real TCP connections, with tolerant timings (shared, noisy machines).

Lower bounds are tight (a toxic must never be early); upper bounds leave room for scheduling
noise but stay far below what a broken implementation would take.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

import httpx
import pytest
from _toxiproxy_helpers import Upstream, connect, reachable, reads_eof, recv_exactly

SLACK_S = 0.3  # scheduling noise allowed on top of a toxic's own delay (shared 2-core CI)


def make_proxy(api: httpx.Client, upstream: Upstream, name: str = "p") -> str:
    reply = api.post(
        "/proxies", json={"name": name, "upstream": upstream.address, "listen": "127.0.0.1:0"}
    )
    assert reply.status_code == 201, reply.text
    return reply.json()["listen"]


def add(
    api: httpx.Client, toxic_type: str, stream: str = "downstream", proxy: str = "p", **attrs: int
) -> dict:
    name = attrs.pop("name", None) or f"{toxic_type}_{stream}"
    toxicity = attrs.pop("toxicity", 1)
    reply = api.post(
        f"/proxies/{proxy}/toxics",
        json={
            "name": name,
            "type": toxic_type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attrs,
        },
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def remove(api: httpx.Client, name: str, proxy: str = "p") -> None:
    assert api.delete(f"/proxies/{proxy}/toxics/{name}").status_code == 204


def round_trip(client: socket.socket, payload: bytes) -> float:
    started = time.monotonic()
    client.sendall(payload)
    assert recv_exactly(client, len(payload)) == payload
    return time.monotonic() - started


# --- latency -------------------------------------------------------------------------------


def test_upstream_latency_delays_what_the_server_receives(
    api: httpx.Client, collector: Upstream
) -> None:
    listen = make_proxy(api, collector)
    add(api, "latency", "upstream", latency=100)
    client = connect(listen)
    payload = b"x" * 32 * 1024 + b"\n"
    sent = time.monotonic()
    client.sendall(payload)
    arrived = collector.connection().wait_bytes(len(payload))
    assert arrived is not None
    assert 0.095 <= arrived - sent <= 0.1 + SLACK_S
    client.close()


@pytest.mark.parametrize(("up_ms", "down_ms"), [(100, 100), (0, 0), (50, 150)])
def test_round_trip_is_the_sum_of_both_latencies(
    api: httpx.Client, echo: Upstream, up_ms: int, down_ms: int
) -> None:
    listen = make_proxy(api, echo)
    add(api, "latency", "upstream", latency=up_ms)
    add(api, "latency", "downstream", latency=down_ms)
    client = connect(listen)
    elapsed = round_trip(client, b"y" * 32 * 1024 + b"\n")
    expected = (up_ms + down_ms) / 1000
    assert expected - 0.005 <= elapsed <= expected + SLACK_S
    client.close()


@pytest.mark.slow
@pytest.mark.parametrize(("up_ms", "down_ms"), [(1000, 100), (100, 1000)])
def test_round_trip_with_long_latency(
    api: httpx.Client, echo: Upstream, up_ms: int, down_ms: int
) -> None:
    test_round_trip_is_the_sum_of_both_latencies(api, echo, up_ms, down_ms)


def test_jitter_stays_within_bounds(api: httpx.Client, echo: Upstream) -> None:
    listen = make_proxy(api, echo)
    add(api, "latency", "downstream", latency=100, jitter=30)
    client = connect(listen)
    for _ in range(3):
        assert 0.065 <= round_trip(client, b"j") <= 0.13 + SLACK_S
    client.close()


def test_chained_latencies_add_up(api: httpx.Client, collector: Upstream) -> None:
    listen = make_proxy(api, collector)
    add(api, "latency", "upstream", latency=150, name="first")
    add(api, "latency", "upstream", latency=150, name="second")
    client = connect(listen)
    sent = time.monotonic()
    client.sendall(b"z" * 1000)
    arrived = collector.connection().wait_bytes(1000)
    assert arrived is not None
    assert 0.295 <= arrived - sent <= 0.3 + SLACK_S
    client.close()


def test_latency_does_not_limit_throughput(api: httpx.Client, echo: Upstream) -> None:
    listen = make_proxy(api, echo)
    add(api, "latency", "downstream", latency=100)
    client = connect(listen)
    client.sendall(b"s")
    assert recv_exactly(client, 1) == b"s"
    server = echo.connection().sock
    block = b"b" * 12_000
    started = time.monotonic()
    threading.Thread(target=lambda: [server.sendall(block) for _ in range(100)]).start()
    assert recv_exactly(client, 100 * len(block), timeout=10) == block * 100
    # 100 chunks each delayed 100 ms in series would take >= 10 s.
    assert time.monotonic() - started < 0.1 + 1.0
    client.close()


# --- bandwidth -----------------------------------------------------------------------------


def test_bandwidth_limits_the_rate(api: httpx.Client, collector: Upstream) -> None:
    listen = make_proxy(api, collector)
    add(api, "bandwidth", "upstream", rate=1000)  # 1,000,000 bytes/s
    client = connect(listen)
    payload = b"b" * 480_000
    sent = time.monotonic()
    client.sendall(payload)
    arrived = collector.connection().wait_bytes(len(payload), timeout=10)
    assert arrived is not None
    assert 0.43 <= arrived - sent <= 0.48 + SLACK_S
    assert bytes(collector.connection().data) == payload
    client.close()


def test_bandwidth_zero_holds_data_until_removed(api: httpx.Client, collector: Upstream) -> None:
    listen = make_proxy(api, collector)
    add(api, "bandwidth", "upstream", rate=0)
    client = connect(listen)
    client.sendall(b"held")
    upstream = collector.connection()
    assert upstream.wait_bytes(1, timeout=0.3) is None
    remove(api, "bandwidth_upstream")
    assert upstream.wait_bytes(4) is not None
    assert bytes(upstream.data) == b"held"
    client.close()


# --- limit_data ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("writes", "forwarded", "closes"),
    [
        ([50], 50, False),
        ([100], 100, True),
        ([150], 100, True),
        ([25, 25, 25, 25], 100, True),
        ([90, 20], 100, True),
    ],
)
def test_limit_data(
    api: httpx.Client, collector: Upstream, writes: list[int], forwarded: int, closes: bool
) -> None:
    listen = make_proxy(api, collector)
    add(api, "limit_data", "upstream", bytes=100)
    client = connect(listen)
    payload = bytes(range(sum(writes)))
    offset = 0
    for size in writes:
        client.sendall(payload[offset : offset + size])
        offset += size
        time.sleep(0.02)
    upstream = collector.connection()
    upstream.wait_bytes(forwarded)
    assert reads_eof(client, 1.0 if closes else 0.3) is closes
    assert upstream.eof.wait(1.0 if closes else 0.1) is closes
    assert bytes(upstream.data) == payload[:forwarded]
    client.close()


def test_limit_data_zero_forwards_nothing_and_closes_on_first_data(
    api: httpx.Client, collector: Upstream
) -> None:
    listen = make_proxy(api, collector)
    add(api, "limit_data", "upstream", bytes=0)
    client = connect(listen)
    assert not reads_eof(client, 0.2)  # not closed at connect
    client.sendall(b"data")
    assert reads_eof(client, 1)
    assert collector.connection().eof.wait(1)
    assert bytes(collector.connection().data) == b""


def test_limit_data_count_survives_update(api: httpx.Client, collector: Upstream) -> None:
    listen = make_proxy(api, collector)
    add(api, "limit_data", "upstream", bytes=100)
    client = connect(listen)
    client.sendall(b"a" * 60)
    upstream = collector.connection()
    assert upstream.wait_bytes(60) is not None
    api.patch("/proxies/p/toxics/limit_data_upstream", json={"attributes": {"bytes": 80}})
    client.sendall(b"b" * 60)
    assert reads_eof(client, 1)
    assert upstream.eof.wait(1)
    assert bytes(upstream.data) == b"a" * 60 + b"b" * 20


# --- reset_peer ----------------------------------------------------------------------------


def test_reset_peer_sends_rst(api: httpx.Client, echo: Upstream) -> None:
    listen = make_proxy(api, echo)
    add(api, "reset_peer", "upstream", timeout=0)
    client = connect(listen)
    client.sendall(b"hello")
    with pytest.raises(ConnectionResetError):
        client.recv(10)
    assert client.recv(10) == b""
    client.close()


@pytest.mark.parametrize("stream", ["upstream", "downstream"])
def test_reset_peer_after_timeout(api: httpx.Client, echo: Upstream, stream: str) -> None:
    listen = make_proxy(api, echo)
    add(api, "reset_peer", stream, timeout=100)
    client = connect(listen)
    sent = time.monotonic()
    client.sendall(b"hello")
    client.settimeout(5)
    with pytest.raises(ConnectionResetError):
        client.recv(10)
    assert 0.095 <= time.monotonic() - sent <= 0.1 + SLACK_S
    client.close()


def test_reset_peer_added_to_open_connection_closes_with_fin(
    api: httpx.Client, echo: Upstream
) -> None:
    listen = make_proxy(api, echo)
    client = connect(listen)
    round_trip(client, b"x")
    add(api, "reset_peer", "upstream", timeout=0)
    client.sendall(b"y")
    client.settimeout(2)
    assert client.recv(10) == b""  # EOF, not ECONNRESET


# --- slicer --------------------------------------------------------------------------------


def test_slicer_delivers_everything_in_order(api: httpx.Client, collector: Upstream) -> None:
    listen = make_proxy(api, collector)
    add(api, "slicer", "upstream", average_size=1024, size_variation=512, delay=10)
    client = connect(listen)
    payload = bytes(i % 251 for i in range(480_000))
    client.sendall(payload)
    upstream = collector.connection()
    assert upstream.wait_bytes(len(payload), timeout=10) is not None
    assert bytes(upstream.data) == payload
    client.close()


# --- timeout -------------------------------------------------------------------------------


def test_timeout_zero_drops_data_and_removal_closes(api: httpx.Client, collector: Upstream) -> None:
    listen = make_proxy(api, collector)
    client = connect(listen)
    upstream = collector.connection()
    add(api, "timeout", "upstream", timeout=0)
    client.sendall(b"lost")
    assert upstream.wait_bytes(1, timeout=0.3) is None
    remove(api, "timeout_upstream")
    assert reads_eof(client, 1)
    assert upstream.eof.wait(1)
    assert bytes(upstream.data) == b""


def test_timeout_closes_an_idle_connection(api: httpx.Client, echo: Upstream) -> None:
    listen = make_proxy(api, echo)
    add(api, "timeout", "upstream", timeout=200)
    client = connect(listen)
    started = time.monotonic()
    assert not reads_eof(client, 0.15)
    assert reads_eof(client, 1)
    # The toxic's clock starts when the proxy accepts the connection, a little before
    # ``started``: the lower bound allows for that (no EOF within 0.15 s is asserted above).
    assert 0.15 <= time.monotonic() - started <= 0.2 + SLACK_S


def test_removing_latency_before_timeout_does_not_hang(
    api: httpx.Client, collector: Upstream
) -> None:
    listen = make_proxy(api, collector)
    client = connect(listen)
    add(api, "latency", "upstream", latency=10)
    add(api, "timeout", "upstream", timeout=0)
    for _ in range(5):
        client.sendall(b"x" * 100)
        time.sleep(0.05)
    started = time.monotonic()
    remove(api, "latency_upstream")
    assert time.monotonic() - started < 1
    assert bytes(collector.connection().data) == b""
    client.close()


def test_toxicity_zero_passes_then_update_applies(api: httpx.Client, echo: Upstream) -> None:
    listen = make_proxy(api, echo)
    add(api, "timeout", "upstream", timeout=0, toxicity=0)
    client = connect(listen)
    round_trip(client, b"passes")
    started = time.monotonic()
    reply = api.patch(
        "/proxies/p/toxics/timeout_upstream", json={"toxicity": 1, "attributes": {"timeout": 100}}
    )
    assert reply.status_code == 200
    assert reads_eof(client, 1)
    assert time.monotonic() - started <= 0.15 + SLACK_S


def test_fractional_toxicity_is_rolled_per_connection(api: httpx.Client, echo: Upstream) -> None:
    listen = make_proxy(api, echo)
    add(api, "latency", "downstream", latency=80, toxicity=0.5)
    delayed = 0
    for _ in range(10):
        client = connect(listen)
        times = sorted(round_trip(client, b"r") for _ in range(3))
        client.close()
        if times[0] >= 0.075:  # every round trip delayed: the toxic applies to this connection
            delayed += 1
        else:  # not applied: a busy machine may slow one round trip, not most of them
            assert times[1] < 0.075, f"toxicity changed mid-connection: {times}"
    assert 0 < delayed < 10


# --- live changes --------------------------------------------------------------------------


def test_live_add_and_reset_keep_the_connection(api: httpx.Client, echo: Upstream) -> None:
    listen = make_proxy(api, echo)
    client = connect(listen)
    for _ in range(2):
        add(api, "noop", "upstream")
        add(api, "noop", "downstream")
        round_trip(client, b"with toxics")
        assert api.post("/reset").status_code == 204
        round_trip(client, b"after reset")
    client.close()


def test_toxic_churn_loses_nothing(api: httpx.Client, echo: Upstream, toxiproxy) -> None:
    listen = make_proxy(api, echo)
    client = connect(listen)
    stop = threading.Event()
    churns = 0

    def churn() -> None:
        nonlocal churns
        with httpx.Client(base_url=toxiproxy.url) as churner:
            while not stop.is_set():
                for stream in ("upstream", "downstream"):
                    churner.post("/proxies/p/toxics", json={"type": "noop", "stream": stream})
                for stream in ("upstream", "downstream"):
                    churner.delete(f"/proxies/p/toxics/noop_{stream}")
                churns += 1

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for i in range(100):
            round_trip(client, f"message {i:03d} ".encode() * 10)
            time.sleep(0.003)
    finally:
        stop.set()
        worker.join(5)
    assert churns >= 5
    client.close()


def test_ordered_stream_survives_latency_churn(
    api: httpx.Client, collector: Upstream, toxiproxy
) -> None:
    listen = make_proxy(api, collector)
    client = connect(listen)
    payload = b"".join(struct.pack(">H", i) for i in range(65_535))
    stop = threading.Event()
    churns = 0

    def churn() -> None:
        nonlocal churns
        body = {"type": "latency", "attributes": {"latency": 1000}}
        with httpx.Client(base_url=toxiproxy.url) as churner:
            while not stop.is_set():
                churner.post("/proxies/p/toxics", json={**body, "stream": "upstream"})
                churner.post("/proxies/p/toxics", json={**body, "stream": "downstream"})
                time.sleep(0.01)
                churner.delete("/proxies/p/toxics/latency_upstream")
                churner.delete("/proxies/p/toxics/latency_downstream")
                churns += 1

    worker = threading.Thread(target=churn)
    worker.start()
    try:
        for offset in range(0, len(payload), 2000):
            client.sendall(payload[offset : offset + 2000])
            time.sleep(0.01)  # keep data flowing while toxics come and go
    finally:
        stop.set()
        worker.join(5)
    assert churns >= 10
    api.post("/reset")
    client.close()
    upstream = collector.connection()
    assert upstream.eof.wait(5), "EOF must follow the data"
    assert bytes(upstream.data) == payload


def test_slow_close_delays_the_close_not_the_data(api: httpx.Client, echo: Upstream) -> None:
    listen = make_proxy(api, echo)
    add(api, "slow_close", "downstream", delay=300)
    client = connect(listen)
    round_trip(client, b"x")
    server = echo.connection()
    server.sock.sendall(b"last words")
    closed_at = time.monotonic()
    server.sock.shutdown(socket.SHUT_RDWR)
    assert recv_exactly(client, 10) == b"last words"
    assert not reads_eof(client, 0.2)
    assert reads_eof(client, 1)
    assert time.monotonic() - closed_at >= 0.295


def test_toxic_on_disabled_proxy_applies_after_enable(api: httpx.Client, echo: Upstream) -> None:
    listen = make_proxy(api, echo)
    api.post("/proxies/p", json={"enabled": False})
    add(api, "latency", "downstream", latency=150)
    api.post("/proxies/p", json={"enabled": True})
    assert reachable(listen)
    client = connect(listen)
    assert round_trip(client, b"x") >= 0.145
    client.close()


def test_delete_proxy_closes_connections(api: httpx.Client, echo: Upstream) -> None:
    listen = make_proxy(api, echo)
    client = connect(listen)
    round_trip(client, b"x")
    assert api.delete("/proxies/p").status_code == 204
    assert reads_eof(client, 1)
