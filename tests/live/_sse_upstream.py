"""A real HTTP server on 127.0.0.1 that streams an OpenAI-style chat completion as SSE, one
event every ``gap_s`` seconds (each written and flushed on its own, chunked), so a test can
tell from the client's side whether a door kept the upstream's timing.

``POST /v1/chat/completions`` answers the stream; every request is counted in ``hits``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

WORDS = ["Your", " order", " has", " shipped", "."]


def event(i: int) -> bytes:
    payload = {
        "id": "chatcmpl-live",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": {"content": WORDS[i]}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


EVENTS = [event(i) for i in range(len(WORDS))] + [b"data: [DONE]\n\n"]


@dataclass
class SSEUpstream:
    url: str
    gap_s: float
    hits: list[str] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        upstream: SSEUpstream = self.server.upstream  # type: ignore[attr-defined]
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        upstream.hits.append(self.path)
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        try:
            for data in EVENTS:
                time.sleep(upstream.gap_s)
                self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError:
            pass  # the door left at a cut


@contextmanager
def sse_upstream(gap_s: float) -> Iterator[SSEUpstream]:
    """The server, for the duration of the ``with`` block."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    upstream = SSEUpstream(url=f"http://127.0.0.1:{httpd.server_address[1]}", gap_s=gap_s)
    httpd.upstream = upstream  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield upstream
    finally:
        httpd.shutdown()
        httpd.server_close()


def texts_through_proxy(
    tmp_path: Path, fault_header: str, gap_s: float = 0.05
) -> tuple[list[str], list[dict[str, Any]]]:
    """The words of a live stream read through a real ``faultkit proxy --mode passthrough``
    (a subprocess) with ``x-faultkit-fault: fault_header``, and the proxy's ledger."""
    from proxy_process import ProxyFactory

    from faultkit.formats.sse import SSEParser

    factory = ProxyFactory(tmp_path)
    try:
        with sse_upstream(gap_s) as upstream:
            running = factory(
                "--mode", "passthrough", "--upstream", f"llm={upstream.url}", "--only", "llm"
            )
            url = running.door("llm").rstrip("/") + "/v1/chat/completions"
            body = {"model": "gpt-4o-mini", "stream": True, "messages": []}
            parser = SSEParser()
            data: list[str | None] = []
            with (
                httpx.Client(timeout=30) as client,
                client.stream(
                    "POST", url, json=body, headers={"x-faultkit-fault": fault_header}
                ) as response,
            ):
                for chunk in response.iter_raw():
                    data += [e.data for e in parser.feed(chunk)]
            ledger = running.ledger()
    finally:
        factory.close()
    texts = [json.loads(d)["choices"][0]["delta"]["content"] for d in data if d != "[DONE]"]
    return texts, ledger
