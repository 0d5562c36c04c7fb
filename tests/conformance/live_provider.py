"""A real local upstream that answers like the providers and a tool, for pass-through cells.

A raw ASGI app served by uvicorn on 127.0.0.1 in a thread. What it answers depends on the
request's ``model`` (or path), so one client script meets every kind of live answer:

===========================  ==================================================================
``POST /v1/chat/completions``  ``gpt-ok``: JSON with usage; ``"stream": true``: SSE events
                               ``GAP_S`` apart, flushed one by one, then ``[DONE]``;
                               ``rate-limited``: 429 ``rate_limit_exceeded`` with
                               ``retry-after: 2``; ``no-quota``: 429 ``insufficient_quota`` (no
                               retry-after); ``overloaded``: 503 ``server_is_overloaded`` with
                               ``x-should-retry: true``
``POST /v1/messages``          ``claude-ok``: JSON or SSE (Anthropic events); ``overloaded``:
                               529 ``overloaded_error`` with ``x-should-retry: true`` and
                               ``retry-after-ms: 1500``
``GET /orders/1234``           200 JSON; any other order: 404 JSON error
===========================  ==================================================================

Bodies and headers follow the providers' documented wire formats (written here by hand, not
recordings): OpenAI's ``{"error": {"message", "type", "param", "code"}}``, Anthropic's
``{"type": "error", "error": {"type", "message"}}``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import uvicorn

GAP_S = 0.02
WORDS = ["Your", " order", " has", " shipped", "."]


def _openai_error(message: str, kind: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


OPENAI_ERRORS: dict[str, tuple[int, dict[str, Any], list[tuple[str, str]]]] = {
    "rate-limited": (
        429,
        _openai_error(
            "Rate limit reached for requests. Please try again in 2s.",
            "requests",
            "rate_limit_exceeded",
        ),
        [("retry-after", "2")],
    ),
    "no-quota": (
        429,
        _openai_error(
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
            "insufficient_quota",
        ),
        [],
    ),
    "overloaded": (
        503,
        _openai_error("The server is overloaded.", "server_error", "server_is_overloaded"),
        [("x-should-retry", "true")],
    ),
}
ANTHROPIC_OVERLOADED = {
    "type": "error",
    "error": {"type": "overloaded_error", "message": "Overloaded"},
}


def _chat_events(model: str) -> list[dict[str, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {
            "id": "chatcmpl-live",
            "object": "chat.completion.chunk",
            "created": 1700000000,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": word}) for word in WORDS]
    events.append(chunk({}, "stop"))
    return events


def _chat(model: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-live",
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


def _message(model: str) -> dict[str, Any]:
    return {
        "id": "msg_live",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": "".join(WORDS)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 5, "output_tokens": 5},
    }


def _message_events(model: str) -> list[tuple[str, dict[str, Any]]]:
    start = {**_message(model), "content": [], "stop_reason": None}
    start["usage"] = {"input_tokens": 5, "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
    ]
    for word in WORDS:
        delta = {"type": "text_delta", "text": word}
        events.append(
            ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta})
        )
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The upstream: see the module docstring for what it answers."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]
    request = json.loads(body) if body else {}
    model = request.get("model", "")

    async def answer(status: int, value: Any, headers: list[tuple[str, str]] = ()) -> None:
        data = json.dumps(value).encode()
        raw = [(b"content-type", b"application/json"), (b"x-request-id", b"req_live")]
        raw += [(k.encode(), v.encode()) for k, v in headers]
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": data})

    async def stream(events: list[bytes]) -> None:
        raw = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        for i, event in enumerate(events):
            if i:
                await asyncio.sleep(GAP_S)
            await send({"type": "http.response.body", "body": event, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    if path == "/v1/chat/completions":
        if model in OPENAI_ERRORS:
            status, error, headers = OPENAI_ERRORS[model]
            await answer(status, error, headers)
        elif request.get("stream"):
            events = [b"data: " + json.dumps(e).encode() + b"\n\n" for e in _chat_events(model)]
            await stream([*events, b"data: [DONE]\n\n"])
        else:
            await answer(200, _chat(model))
    elif path == "/v1/messages":
        if model == "overloaded":
            headers = [("x-should-retry", "true"), ("retry-after-ms", "1500")]
            await answer(529, ANTHROPIC_OVERLOADED, headers)
        elif request.get("stream"):
            await stream(
                [
                    f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()
                    for name, data in _message_events(model)
                ]
            )
        else:
            await answer(200, _message(model))
    elif path == "/orders/1234":
        await answer(200, {"id": "1234", "status": "shipped", "eta": "2026-03-14", "total": 42.5})
    else:
        await answer(404, {"error": "not found", "path": path})


class LiveProvider:
    """``with LiveProvider() as upstream:`` serves :func:`app` at ``upstream.url``."""

    def __init__(self) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = ""

    def __enter__(self) -> LiveProvider:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local upstream did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
