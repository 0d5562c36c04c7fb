"""Write the cassettes under ``tests/derive/cassettes`` by running real clients against a
scripted upstream. Not used by the tests; run ``python tests/derive/record_cassettes.py``.

Why recorded rather than typed in: faultkit matches requests on method, URL and body, so the
requests must be byte for byte what the SDKs send. Each client (the openai SDK through
``trip_desk``, the anthropic SDK, plain httpx for MCP) runs on a mock transport that answers in
the provider's wire format and keeps every exchange; faultkit's own writer stores them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic
import httpx
import httpx2
import trip_desk

from faultkit.cassettes import write_cassette
from faultkit.exchange import Request, Response, ResponseHead

HERE = Path(__file__).resolve().parent / "cassettes"
CREATED = 1780000000


Answer = tuple[int, list[tuple[str, str]], bytes]


def _json(status: int, doc: Any) -> Answer:
    return status, [("content-type", "application/json")], json.dumps(doc).encode()


def _chat(message: dict[str, Any], finish: str) -> Any:
    return {
        "id": f"chatcmpl-{finish}",
        "object": "chat.completion",
        "created": CREATED,
        "model": trip_desk.MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 60, "completion_tokens": 20, "total_tokens": 80},
    }


FORECAST = {
    "city": "Lisbon",
    "temperature_c": 18,
    "conditions": "light rain",
    "wind_kph": 22,
    "updated_at": "2026-05-20T06:00:00Z",
}
ADVICE = {"city": "Lisbon", "temperature_c": 18, "pack": "An umbrella for light rain, a jacket."}


def trip_upstream(method: str, url: str, body: Any) -> Answer:
    if url.startswith(trip_desk.WEATHER_URL):
        return _json(200, FORECAST)
    if isinstance(body, dict) and "response_format" in body:
        return _json(200, _chat({"role": "assistant", "content": json.dumps(ADVICE)}, "stop"))
    call = {
        "id": "call_forecast_1",
        "type": "function",
        "function": {"name": "get_forecast", "arguments": '{"city":"Lisbon"}'},
    }
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return _json(200, _chat(message, "tool_calls"))


def _sse(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    return "".join(f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in events).encode()


TEXT_BLOCK = {"type": "text", "text": ""}


def _text_delta(text: str) -> dict[str, str]:
    return {"type": "text_delta", "text": text}


def anthropic_upstream(method: str, url: str, body: Any) -> Answer:
    text = json.dumps({"city": "Oslo", "temperature_c": 4, "pack": "A warm coat."})
    message = {
        "id": "msg_derive_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 30, "output_tokens": 1},
    }
    pieces = [text[:20], text[20:40], text[40:]]
    events = [
        ("message_start", {"type": "message_start", "message": message}),
        (
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        *[
            (
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": p},
                },
            )
            for p in pieces
        ],
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 18},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return 200, [("content-type", "text/event-stream")], _sse(events)


def mcp_upstream(method: str, url: str, body: Any) -> Answer:
    article = {"title": "Packing for Oslo", "season": "winter", "layers": 3}
    result = {
        "content": [{"type": "text", "text": json.dumps(article)}],
        "structuredContent": article,
        "isError": False,
    }
    return _json(200, {"jsonrpc": "2.0", "id": body["id"], "result": result})


class Recorder:
    """A mock transport handler that answers from ``upstream`` and keeps every exchange."""

    def __init__(self, upstream: Any) -> None:
        self.upstream = upstream
        self.exchanges: list[tuple[Request, Response]] = []

    def __call__(self, request: Any) -> Any:
        body = request.read()
        parsed = json.loads(body) if body else None
        status, headers, payload = self.upstream(request.method, str(request.url), parsed)
        self.exchanges.append(
            (
                Request(
                    method=request.method,
                    url=str(request.url),
                    headers=tuple(request.headers.items()),
                    body=body,
                ),
                Response(head=ResponseHead(status=status, headers=tuple(headers)), body=payload),
            )
        )
        return status, headers, payload


def _httpx_handler(recorder: Recorder) -> Any:
    def handle(request: httpx.Request) -> httpx.Response:
        status, headers, payload = recorder(request)
        return httpx.Response(status, headers=headers, content=payload)

    return handle


def record_trip_desk() -> None:
    recorder = Recorder(trip_upstream)

    def factory(**kwargs: Any) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(_httpx_handler(recorder)), **kwargs)

    trip_desk.answer("I fly to Lisbon tomorrow. What should I pack?", http_client_factory=factory)
    write_cassette(HERE / "trip_desk.yaml", recorder.exchanges)


def record_anthropic_stream() -> None:
    recorder = Recorder(anthropic_upstream)

    def handle(request: httpx2.Request) -> httpx2.Response:
        status, headers, payload = recorder(request)
        return httpx2.Response(status, headers=headers, content=payload)

    http = httpx2.Client(transport=httpx2.MockTransport(handle))
    client = anthropic.Anthropic(api_key="sk-ant-local", http_client=http, max_retries=0)
    with client.messages.stream(
        model="claude-sonnet-4-5",
        max_tokens=200,
        messages=[{"role": "user", "content": "Packing advice for Oslo as JSON."}],
    ) as stream:
        stream.get_final_text()
    write_cassette(HERE / "anthropic_stream.yaml", recorder.exchanges)


def record_mcp() -> None:
    recorder = Recorder(mcp_upstream)
    with httpx.Client(transport=httpx.MockTransport(_httpx_handler(recorder))) as http:
        http.post(
            "http://kb.example/mcp",
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "search_articles", "arguments": {"query": "Oslo"}},
            },
            headers={"accept": "application/json, text/event-stream"},
        )
    write_cassette(HERE / "mcp_kb.yaml", recorder.exchanges)


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    record_trip_desk()
    record_anthropic_stream()
    record_mcp()
