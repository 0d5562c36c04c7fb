"""A real loopback HTTP server for record-mode tests of the plugin."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        server: LiveServer = self.server.owner  # type: ignore[attr-defined]
        server.hits.append(self.path)
        body = b'{"answer": 42, "path": "%s"}' % self.path.encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.send_header("set-cookie", "session=SECRET-COOKIE")
        self.end_headers()
        self.wfile.write(body)


@dataclass
class LiveServer:
    url: str
    hits: list[str] = field(default_factory=list)
    stop: Any = None


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    """A JSON server on 127.0.0.1:0; ``stop()`` shuts it down early (to prove replay)."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server = LiveServer(url=f"http://127.0.0.1:{httpd.server_address[1]}")
    httpd.owner = server  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if not stopped:
            stopped = True
            httpd.shutdown()
            httpd.server_close()

    server.stop = stop
    try:
        yield server
    finally:
        stop()
