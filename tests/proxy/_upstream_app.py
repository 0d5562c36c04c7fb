"""A small local stand-in for a provider and a tool, for record and passthrough tests.

``POST .../chat/completions`` answers like OpenAI: JSON, or with ``"stream": true`` an SSE
stream whose events are ``GAP_S`` apart, sent chunked and flushed one by one; for the model
``RATE_LIMITED_MODEL``, a 429 with ``retry-after: 2`` as OpenAI sends it. ``GET
/orders/<id>`` answers like a JSON tool. Every request is kept in ``seen`` so a test can prove
that replay never reached the network.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GAP_S = 0.08
WORDS = ["Your", " order", " has", " shipped", "."]
RATE_LIMITED_MODEL = "rate-limited"  # a chat request for this model is answered 429
RATE_LIMIT_ERROR = {
    "error": {
        "message": "Rate limit reached for requests. Please try again in 2s.",
        "type": "requests",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}


def completion(model: str) -> dict:
    return {
        "id": "chatcmpl-local1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(WORDS)},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 5, "completion_tokens": 5, "total_tokens": 10},
    }


def chunk(model: str, delta: dict, finish: str | None = None) -> bytes:
    payload = {
        "id": "chatcmpl-local2",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalUpstream

    def log_message(self, *args: object) -> None:
        pass

    def _body(self) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _json(self, status: int, value: object, *headers: tuple[str, str]) -> None:
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.send_header("x-request-id", "req_local")
        for name, header_value in headers:
            self.send_header(name, header_value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self.server.seen.append(("GET", self.path, dict(self.headers), b""))
        if self.path.startswith("/orders/"):
            order = self.path.rsplit("/", 1)[1]
            if order == "1234":
                self._json(200, {"id": "1234", "status": "shipped", "eta": "2026-03-14"})
            else:
                self._json(404, {"error": "order not found"})
            return
        self._json(404, {"error": "no such path"})

    def do_POST(self) -> None:
        body = self._body()
        self.server.seen.append(("POST", self.path, dict(self.headers), body))
        request = json.loads(body or b"{}")
        model = request.get("model", "local-model")
        if model == RATE_LIMITED_MODEL:
            self._json(429, RATE_LIMIT_ERROR, ("retry-after", "2"))
            return
        if not request.get("stream"):
            self._json(200, completion(model))
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        events = [chunk(model, {"role": "assistant", "content": ""})]
        events += [chunk(model, {"content": w}) for w in WORDS]
        events += [chunk(model, {}, "stop"), b"data: [DONE]\n\n"]
        for i, event in enumerate(events):
            if i:
                time.sleep(GAP_S)
            self.wfile.write(b"%x\r\n%b\r\n" % (len(event), event))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


class LocalUpstream(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen: list[tuple[str, str, dict, bytes]] = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client (the proxy's pool) closing a kept-alive connection is not news

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> LocalUpstream:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
