"""A small world for exploring: an OpenAI chat stream and an orders tool, replayed in memory,
and support bots that are robust except for weaknesses planted on purpose.

The chat stream carries the structured answer spread over several content deltas, then a
finish chunk and ``data: [DONE]``, so a stream cut anywhere before the end leaves a partial
answer behind. Everything runs through faultkit's real in-process door and the real oracle.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from faultkit.cassettes.write import write_cassette
from faultkit.doors.inprocess import FaultkitTransport
from faultkit.engine import Engine
from faultkit.exchange import Request, Response, ResponseHead
from faultkit.formats.sse import SSEEvent, encode_events
from faultkit.oracle import Contract, Verdict, capture, judge
from faultkit.scenario import Scenario

CHAT_URL = "https://api.openai.com/v1/chat/completions"
ORDER_URL = "http://orders.internal/orders/1234"
REQUEST = {
    "model": "gpt-4o-mini",
    "stream": True,
    "messages": [{"role": "user", "content": "Where is my order 1234?"}],
}
ORDER = {"id": "1234", "status": "shipped", "eta": "2026-03-14", "total": 138.0}
ANSWER = {
    "order_id": "1234",
    "status": "shipped",
    "eta": "2026-03-14",
    "reply": "Your order 1234 has shipped and should arrive by 14 March 2026.",
}


class Answer(BaseModel):
    order_id: str
    status: str
    eta: str | None
    reply: str


class AnswerUnavailable(Exception):
    """The bot's declared error: it could not give a reliable answer."""


# 20 ms tells the planted "retry at once" (well under 1 ms idle) from a wait even when a busy
# 2-core machine pauses the bot's thread for a scheduler slice or two; with 5 ms (less the
# oracle's 2 ms tolerance) a 3 ms pause would read as a backoff, and a storm the search found
# could vanish when hypothesis replays it to shrink.
CONTRACT = Contract(
    output_model=Answer, error_types=[AnswerUnavailable], max_attempts=3, min_backoff_ms=20
)


def _chunk(delta: dict[str, Any], finish: str | None = None) -> SSEEvent:
    payload = {
        "id": "chatcmpl-x1",
        "object": "chat.completion.chunk",
        "created": 1760000000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return SSEEvent(data=json.dumps(payload, separators=(",", ":")))


def chat_stream(content: str, pieces: int = 6) -> bytes:
    size = -(-len(content) // pieces)
    events = [_chunk({"role": "assistant", "content": ""})]
    events += [_chunk({"content": content[i : i + size]}) for i in range(0, len(content), size)]
    events += [_chunk({}, "stop"), SSEEvent(data="[DONE]")]
    return encode_events(events)


def chat_response() -> Response:
    """The provider streaming the structured answer."""
    head = ResponseHead(status=200, headers=(("content-type", "text/event-stream"),))
    return Response(head=head, body=chat_stream(json.dumps(ANSWER)))


def write_chat_cassette(path: Path) -> None:
    """The streamed answer recorded in a cassette file, as a project exploring its bot has it."""
    request = Request(
        method="POST",
        url=CHAT_URL,
        headers=(("content-type", "application/json"),),
        body=b'{"model":"gpt-4o-mini","stream":true}',
    )
    write_cassette(path, [(request, chat_response())])


@dataclass(frozen=True)
class Recording:
    response: Response
    source: str


class MemorySource:
    """Every chat request gets the streamed answer; the orders tool answers with the order."""

    def match(self, request: Request) -> Recording:
        if request.path.endswith("/chat/completions"):
            return Recording(chat_response(), "memory#chat")
        head = ResponseHead(status=200, headers=(("content-type", "application/json"),))
        return Recording(Response(head=head, body=json.dumps(ORDER).encode()), "memory#order")


class World:
    """One run: a fresh engine for the plan, a client whose requests go through the door."""

    def __init__(self, plan: Scenario) -> None:
        self.engine = Engine(plan, source=MemorySource())
        self.client = httpx.Client(transport=FaultkitTransport(self.engine), timeout=5.0)


def _retry_after_s(headers: httpx.Headers) -> float:
    if "retry-after-ms" in headers:
        return float(headers["retry-after-ms"]) / 1000
    if "retry-after" in headers:
        return float(headers["retry-after"])
    return 0.025  # above CONTRACT.min_backoff_ms: the robust bot backs off


def _read_stream(response: httpx.Response) -> tuple[str, bool]:
    """(the assembled content, whether the stream was complete and every event parsed)."""
    content: list[str] = []
    done, intact = False, True
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            done = True
            continue
        try:
            chunk = json.loads(data)
        except ValueError:
            intact = False
            continue
        for choice in chunk.get("choices", []):
            content.append(choice.get("delta", {}).get("content") or "")
    return "".join(content), done and intact


def support_bot(
    world: World,
    *,
    weak_after_429: bool = True,
    crash_on_500: bool = False,
    hurry_on_503: bool = False,
) -> Any:
    """Ask for the order status, streaming. Robust: honours retry-after (and x-should-retry,
    and quota errors), at most 3 attempts, declared error on any failure, validates the answer.

    ``weak_after_429`` plants one weakness: once a 429 was retried, the retry reads the stream
    unguarded and trusts whatever it delivered, so a stream broken on that retry escapes as a
    crash or as a partial answer. ``crash_on_500`` and ``hurry_on_503`` (retry at once, no
    backoff) plant independent ones."""
    rate_limited = False
    for _attempt in range(3):
        try:
            with world.client.stream("POST", CHAT_URL, json=REQUEST) as response:
                if response.status_code == 429:
                    response.read()
                    error = response.json().get("error", {})
                    no_retry = response.headers.get("x-should-retry") == "false"
                    if no_retry or "quota" in f"{error.get('code')} {error.get('type')}":
                        raise AnswerUnavailable("rate limited for good")
                    rate_limited = True
                    time.sleep(_retry_after_s(response.headers))
                    continue
                if hurry_on_503 and response.status_code == 503:
                    continue
                if response.status_code >= 400:
                    if crash_on_500 and response.status_code == 500:
                        raise RuntimeError("unexpected 500")
                    raise AnswerUnavailable(f"provider answered {response.status_code}")
                if weak_after_429 and rate_limited:
                    return _trusting(response)  # the planted weakness
                content, complete = _read_stream(response)
        except httpx.HTTPError as exc:
            raise AnswerUnavailable(f"provider unreachable: {exc}") from exc
        if not complete:
            raise AnswerUnavailable("the answer stream was incomplete")
        try:
            return Answer.model_validate_json(content).model_dump()
        except ValidationError as exc:
            raise AnswerUnavailable("the answer failed validation") from exc
    raise AnswerUnavailable("still rate limited after 3 attempts")


class _Escaped(Exception):
    """Carries an exception past the bot's own ``except httpx.HTTPError`` (planted code path)."""


def _trusting(response: httpx.Response) -> Any:
    """Read the stream without checking that it completed, and return whatever parses."""
    try:
        content, _complete = _read_stream(response)
    except httpx.HTTPError as exc:
        raise _Escaped(f"stream broke after the rate-limit retry: {exc}") from exc
    try:
        return json.loads(content)
    except ValueError:
        return {"reply": content}


def run_plan(plan: Scenario, **bot: Any) -> Verdict:
    """One trial: the bot under ``plan``, judged by the oracle."""
    world = World(plan)
    result = capture(support_bot, world, **bot)
    return judge(world.engine.ledger, result, CONTRACT, plan)
