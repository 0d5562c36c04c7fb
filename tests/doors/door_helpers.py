"""Helpers for door tests: a minimal in-memory source and scripted faults."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from faultkit.engine import Engine
from faultkit.errors import UnmatchedRequest
from faultkit.exchange import Request, Response, ResponseHead
from faultkit.faults.base import Applied, Fault, FaultContext
from faultkit.plan import Plan
from faultkit.scenario import Match, Rule, When

SSE_BODY = (
    b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"lo"}}]}\n\n'
    b"data: [DONE]\n\n"
)
CHAT_URL = "https://api.openai.com/v1/chat/completions"


def sse_response(offsets: tuple[float, ...] | None = None) -> Response:
    return Response(
        head=ResponseHead(
            status=200,
            headers=(("content-type", "text/event-stream"), ("transfer-encoding", "chunked")),
        ),
        body=SSE_BODY,
        event_offsets_ms=offsets,
    )


def json_response(body: bytes = b'{"ok": true}', status: int = 200) -> Response:
    return Response(
        head=ResponseHead(
            status=status,
            headers=(("content-type", "application/json"), ("content-length", "999")),
        ),
        body=body,
    )


@dataclass
class Hit:
    response: Response
    source: str


@dataclass
class MemorySource:
    """Stands in for the cassette store: FIFO per (method, path), records into a list."""

    responses: dict[tuple[str, str], list[Response]] = field(default_factory=dict)
    recorded: list[tuple[Request, Response]] = field(default_factory=list)

    def add(self, method: str, path: str, response: Response) -> MemorySource:
        self.responses.setdefault((method, path), []).append(response)
        return self

    def match(self, request: Request) -> Hit:
        queue = self.responses.get((request.method, request.path))
        if not queue:
            known = [f"{m} {p}" for (m, p) in self.responses]
            raise UnmatchedRequest(request.method, request.url, known)
        return Hit(queue.pop(0), f"memory#{request.path}")

    def record(self, request: Request, response: Response) -> None:
        self.recorded.append((request, response))


class Scripted(Fault):
    """Test-only fault: replaces the plan with ``edit(plan)`` (optionally without a source)."""

    type: str = "scripted"
    edit: Any = None
    answers_alone: bool = False

    @property
    def needs_source(self) -> bool:
        return not self.answers_alone

    def apply(self, plan: Plan, ctx: FaultContext) -> Applied:
        return Applied(self.edit(plan), [])

    def params(self) -> dict[str, Any]:
        return {}


def script(engine: Engine, edit: Callable[[Plan], Plan], *, alone: bool = False) -> None:
    """Add a rule firing ``Scripted(edit)`` on every request (bypasses registry validation)."""
    fault = Scripted(edit=edit, answers_alone=alone)
    engine.add_rule(Rule.model_construct(name=None, match=Match(), when=When(), fault=fault))


class NoNetwork(httpx.BaseTransport):
    """An upstream that fails the test if the door ever forwards to it."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the door went to the network: {request.method} {request.url}")
