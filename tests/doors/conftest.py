"""Fixtures for door tests: a loopback HTTP server to record from."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self._answer()

    def _answer(self) -> None:
        server: LocalServer = self.server.owner  # type: ignore[attr-defined]
        server.hits.append(
            (self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
        )
        if self.path.startswith("/sse"):
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.end_headers()
            for i in range(3):
                time.sleep(server.gap_s)
                self.wfile.write(f'data: {{"n": {i}}}\n\n'.encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
            self.close_connection = True
            return
        body = b'{"answer": 42}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@dataclass
class LocalServer:
    url: str
    hits: list[tuple[str, str, dict[str, str]]]
    gap_s: float = 0.1


@pytest.fixture
def local_server() -> Iterator[LocalServer]:
    """A real HTTP server on 127.0.0.1: JSON at any path, an SSE stream at /sse (3 events,
    ``gap_s`` apart, then [DONE])."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server = LocalServer(url=f"http://127.0.0.1:{httpd.server_address[1]}", hits=[])
    httpd.owner = server  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
