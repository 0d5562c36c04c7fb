"""Small recorded answers for strategy tests: a streamed chat answer, an orders tool's JSON,
a source serving them, and requests for each route."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from faultkit.exchange import Request, Response, ResponseHead
from faultkit.formats.sse import SSEEvent, encode_events

CHAT = "https://api.openai.com/v1/chat/completions"
ORDERS = "http://orders.internal/orders/1234"
ANSWER = {"order_id": "1234", "status": "shipped", "eta": "2026-03-14"}
ORDER: dict[str, Any] = {
    "id": "1234",
    "status": "shipped",
    "eta": "2026-03-14",
    "total": 138.0,
    "items": [{"id": "A-1", "qty": 2}, {"id": "B-7", "qty": 1}],
    "carrier": {"name": "DHL", "tracking": "JD0001"},
}


def chat_stream() -> bytes:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> SSEEvent:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return SSEEvent(data=json.dumps({"id": "c1", "model": "gpt-4o-mini", "choices": [choice]}))

    content = json.dumps(ANSWER)
    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": content[i : i + 8]}) for i in range(0, len(content), 8)]
    events += [chunk({}, "stop"), SSEEvent(data="[DONE]")]
    return encode_events(events)


@dataclass(frozen=True)
class Recording:
    response: Response
    source: str


class Source:
    """The streamed chat answer for chat requests, the order for anything else."""

    def match(self, request: Request) -> Recording:
        if request.path.endswith("/chat/completions"):
            head = ResponseHead(status=200, headers=(("content-type", "text/event-stream"),))
            return Recording(Response(head=head, body=chat_stream()), "memory#chat")
        head = ResponseHead(status=200, headers=(("content-type", "application/json"),))
        return Recording(Response(head=head, body=json.dumps(ORDER).encode()), "memory#order")


def request(url: str) -> Request:
    if "chat" in url:
        body = json.dumps({"model": "gpt-4o-mini", "stream": True, "messages": []}).encode()
        return Request(method="POST", url=url, headers=(), body=body)
    return Request(method="GET", url=url, headers=(), body=b"")
