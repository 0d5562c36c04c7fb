"""Idle and slow clients of a door are dropped after --client-timeout-s; a slow answer of the
proxy's own (a fault) is not cut short. The real proxy process, real sockets."""

from __future__ import annotations

import socket
import time

import pytest
from proxy_process import SUPPORT_CASSETTES, ProxyFactory

ORDERS = ["--upstream", "orders=http://orders.internal,env=ORDERS_URL"]
TIMEOUT_S = 1.5
# Generous: the machine is shared and busy; the proxy can close late, never early.
LATE_S = 20.0


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    factory = ProxyFactory(tmp_path_factory.mktemp("timeouts"))
    yield factory(
        "--cassettes",
        str(SUPPORT_CASSETTES),
        *ORDERS,
        "--only",
        "orders",
        "--client-timeout-s",
        str(TIMEOUT_S),
    )
    factory.close()


def connect(served) -> socket.socket:
    return socket.create_connection(("127.0.0.1", served.port("orders")), timeout=LATE_S)


def read_until_closed(sock: socket.socket) -> tuple[bytes, float]:
    """Everything the proxy sends until it closes, and when it closed (monotonic)."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data, time.monotonic()


def still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def test_half_sent_request_head_gets_408_and_close(served) -> None:
    with connect(served) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /orders/1234 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        time.sleep(TIMEOUT_S / 3)
        assert still_open(sock)  # never before the timeout
        data, closed = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert b"x-faultkit-error: request_timeout" in data
    assert TIMEOUT_S * 0.9 <= closed - started < LATE_S


def test_head_dribbled_byte_by_byte_is_cut_off(served) -> None:
    """Slowloris: a byte every so often keeps the line busy but never finishes the head."""
    with connect(served) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /orders/1234 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            for _ in range(int(LATE_S / 0.2)):
                sock.sendall(b"X-A: b\r\n")
                time.sleep(0.2)
                if not still_open(sock):
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, closed = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 408 ")
    assert closed - started < LATE_S


def test_idle_keep_alive_connection_is_closed_without_an_answer(served) -> None:
    with connect(served) as sock:
        sock.sendall(b"GET /orders/1234 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        answered = time.monotonic()
        time.sleep(TIMEOUT_S / 3)
        assert still_open(sock)
        rest, closed = read_until_closed(sock)
    assert b"HTTP/1.1" not in rest  # closed, not answered again
    assert TIMEOUT_S * 0.9 <= closed - answered < LATE_S


def test_a_slow_answer_of_the_proxys_own_is_not_cut(served) -> None:
    """A latency fault twice the client timeout: the client waits for the proxy, and the
    proxy does not count that against it."""
    fault = f"type=latency;latency_ms={int(TIMEOUT_S * 2000)}"
    with connect(served) as sock:
        started = time.monotonic()
        sock.sendall(
            b"GET /orders/1234 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"x-faultkit-fault: " + fault.encode() + b"\r\n\r\n"
        )
        data, closed = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 200 ")
    assert closed - started >= TIMEOUT_S * 2 * 0.9
