"""Real sockets for the Toxiproxy door tests: a server in its own loop thread, TCP upstreams
that echo or collect, and small client helpers. Everything binds 127.0.0.1 on free ports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Coroutine
from typing import Any

from faultkit.doors.toxiproxy import ToxiproxyServer


class ServerThread:
    """A ToxiproxyServer running in a background event loop, driven from blocking tests."""

    def __init__(self, **kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop()
        # Anything the loop or the door logs as an error fails the test at teardown.
        self.errors: list[str] = []
        self.loop.set_exception_handler(lambda _, ctx: self.errors.append(str(ctx)))
        self._log_handler = _ErrorCollector(self.errors)
        logging.getLogger("faultkit.doors.toxiproxy").addHandler(self._log_handler)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        kwargs.setdefault("port", 0)
        kwargs.setdefault("seed", 7)
        self.server: ToxiproxyServer = self.run(self._start(kwargs))

    @staticmethod
    async def _start(kwargs: dict[str, Any]) -> ToxiproxyServer:
        server = ToxiproxyServer(**kwargs)
        await server.start()
        return server

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port(self) -> int:
        return self.server.port

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()
        logging.getLogger("faultkit.doors.toxiproxy").removeHandler(self._log_handler)


class _ErrorCollector(logging.Handler):
    def __init__(self, errors: list[str]) -> None:
        super().__init__(logging.ERROR)
        self.errors = errors

    def emit(self, record: logging.LogRecord) -> None:
        self.errors.append(self.format(record))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def split(listen: str) -> tuple[str, int]:
    host, port = listen.rsplit(":", 1)
    return host.strip("[]"), int(port)


def reachable(listen: str) -> bool:
    """True when a TCP connect to ``listen`` succeeds (refused: False)."""
    try:
        with socket.create_connection(split(listen), timeout=2):
            return True
    except OSError:
        return False


def connect(listen: str, timeout: float = 5) -> socket.socket:
    sock = socket.create_connection(split(listen), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def recv_exactly(sock: socket.socket, n: int, timeout: float = 5) -> bytes:
    sock.settimeout(timeout)
    data = bytearray()
    while len(data) < n:
        part = sock.recv(n - len(data))
        if not part:
            break
        data += part
    return bytes(data)


def reads_eof(sock: socket.socket, within_s: float) -> bool:
    """True if the peer closed (EOF or reset) within ``within_s``; data read is dropped."""
    sock.settimeout(within_s)
    deadline = time.monotonic() + within_s
    try:
        while time.monotonic() < deadline:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            if not sock.recv(65536):
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return False


class UpstreamConnection:
    """One accepted connection: what arrived (and when), and whether the client closed."""

    def __init__(self, sock: socket.socket, echo: bool) -> None:
        self.sock = sock
        self.data = bytearray()
        self.arrivals: list[tuple[float, int]] = []  # (monotonic time, total bytes so far)
        self.eof = threading.Event()
        self._changed = threading.Condition()
        self._echo = echo
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while True:
                part = self.sock.recv(65536)
                if not part:
                    break
                with self._changed:
                    self.data += part
                    self.arrivals.append((time.monotonic(), len(self.data)))
                    self._changed.notify_all()
                if self._echo:
                    self.sock.sendall(part)
        except OSError:
            pass
        finally:
            self.eof.set()
            with self._changed:
                self._changed.notify_all()

    def wait_bytes(self, n: int, timeout: float = 5) -> float | None:
        """The time at which ``n`` bytes had arrived, or None if they did not in time."""
        with self._changed:
            self._changed.wait_for(lambda: len(self.data) >= n or self.eof.is_set(), timeout)
            for when, total in self.arrivals:
                if total >= n:
                    return when
        return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class Upstream:
    """A TCP server on 127.0.0.1 that echoes (or only collects) what each client sends."""

    def __init__(self, echo: bool = True) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.connections: list[UpstreamConnection] = []
        self._accepted = threading.Condition()
        self._echo = echo
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._accepted:
                self.connections.append(UpstreamConnection(sock, self._echo))
                self._accepted.notify_all()

    def connection(self, index: int = 0, timeout: float = 5) -> UpstreamConnection:
        with self._accepted:
            assert self._accepted.wait_for(lambda: len(self.connections) > index, timeout), (
                "the proxy never connected upstream"
            )
            return self.connections[index]

    def close(self) -> None:
        self._listener.close()
        for conn in self.connections:
            conn.close()
