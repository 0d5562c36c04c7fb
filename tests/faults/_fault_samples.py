"""Real recorded provider exchanges (``tests/cassettes-real``) and small
synthetic tool answers, as plans, for the fault tests.

The recordings are read with faultkit's own cassette loader, so the fault tests run on exactly
the requests and responses a user's cassettes turn into (gzip decoded, pydantic-ai's
``parsed_body`` re-serialized, content-length made true)."""

from __future__ import annotations

import functools
import json
import random
from pathlib import Path
from typing import Any

from faultkit.cassettes import Cassette, load_cassette
from faultkit.exchange import Request, Response, ResponseHead
from faultkit.faults.base import FaultContext
from faultkit.formats.detect import WireFormat, detect_format
from faultkit.plan import Plan

REAL = Path(__file__).resolve().parents[1] / "cassettes-real"

URLS = {
    WireFormat.openai_chat: "https://api.openai.com/v1/chat/completions",
    WireFormat.openai_responses: "https://api.openai.com/v1/responses",
    WireFormat.anthropic_messages: "https://api.anthropic.com/v1/messages",
}


@functools.cache
def _cassette(name: str) -> Cassette:
    return load_cassette(REAL / name)


def real(name: str, index: int = 0) -> tuple[Request, Response]:
    """Interaction ``index`` of real cassette ``name``: the recorded request and response."""
    interaction = _cassette(name).interactions[index]
    return interaction.request, interaction.response


def real_response(name: str, index: int = 0) -> Response:
    """Interaction ``index`` of real cassette ``name`` as a Response (gzip bodies decoded)."""
    return real(name, index)[1]


def real_setup(name: str, seed: int = 0) -> tuple[Plan, FaultContext]:
    """The plan replaying interaction 0 of ``name``, and the context its recorded request makes."""
    request, response = real(name)
    fmt = detect_format(request, response.content_type)
    return Plan.from_response(response), FaultContext(request, fmt, random.Random(seed))


def real_plan(name: str, index: int = 0) -> Plan:
    return Plan.from_response(real_response(name, index), timing_scale=0)


def json_plan(value: Any, content_type: str = "application/json") -> Plan:
    head = ResponseHead(status=200, headers=(("content-type", content_type),))
    return Plan.from_response(Response(head=head, body=json.dumps(value).encode()))


def html_plan(status: int = 200) -> Plan:
    """A gateway's HTML error page: not JSON, so meaning-level faults must leave it alone."""
    head = ResponseHead(status=status, headers=(("content-type", "text/html"),))
    return Plan.from_response(Response(head=head, body=b"<html><h1>502 Bad Gateway</h1></html>"))


def sse_plan(body: bytes) -> Plan:
    head = ResponseHead(status=200, headers=(("content-type", "text/event-stream"),))
    return Plan.from_response(Response(head=head, body=body))


def ctx_for(fmt: WireFormat, seed: int = 0, request: Request | None = None) -> FaultContext:
    if request is None:
        url = URLS.get(fmt, "http://tools.local/orders")
        request = Request(method="POST", url=url, body=b"{}")
    assert fmt in (detect_format(request, "application/json"), WireFormat.json, WireFormat.mcp)
    return FaultContext(request=request, format=fmt, rng=random.Random(seed))


def body_json(plan: Plan) -> Any:
    return json.loads(plan.body_bytes())


def _transport(plan: Plan) -> Any:
    import httpx2

    head = plan.head
    assert head is not None

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(head.status, headers=list(head.headers), content=plan.body_bytes())

    return httpx2.MockTransport(handler)


def openai_client(plan: Plan) -> Any:
    """The real openai SDK answering every call with ``plan`` (in memory, no retries)."""
    import httpx2
    import openai

    return openai.OpenAI(
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx2.Client(transport=_transport(plan)),
        max_retries=0,
    )


def anthropic_client(plan: Plan) -> Any:
    """The real anthropic SDK answering every call with ``plan`` (in memory, no retries)."""
    import anthropic
    import httpx2

    return anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="http://127.0.0.1:9",
        http_client=httpx2.Client(transport=_transport(plan)),
        max_retries=0,
    )


USER = [{"role": "user", "content": "hi"}]
