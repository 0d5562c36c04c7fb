"""http_error: provider-correct error responses, checked against the real SDKs' parsing.

The SDK checks run the official openai / anthropic clients over an in-memory
``httpx2.MockTransport`` that answers with the plan's head and body: no sockets.
"""

from __future__ import annotations

import json
import random

import anthropic
import httpx2
import openai
import pytest
from pydantic import TypeAdapter, ValidationError

from faultkit.engine import Engine
from faultkit.exchange import Request
from faultkit.faults import FaultSpec
from faultkit.faults.base import FaultContext
from faultkit.faults.http_error import HttpError
from faultkit.formats.detect import WireFormat
from faultkit.plan import Close, Plan, SendBytes, SendHead
from faultkit.scenario import Rule, Scenario

CHAT = Request(
    method="POST",
    url="https://api.openai.com/v1/chat/completions",
    headers=(("content-type", "application/json"),),
    body=json.dumps(
        {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    ).encode(),
)
MESSAGES = Request(
    method="POST",
    url="https://api.anthropic.com/v1/messages",
    body=json.dumps({"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": []}).encode(),
)
TOOL = Request(method="POST", url="http://tools.local/orders/lookup", body=b'{"id": 1}')


def ctx(request: Request, fmt: WireFormat, seed: int = 0) -> FaultContext:
    return FaultContext(request=request, format=fmt, rng=random.Random(seed))


def apply(
    fault: HttpError,
    request: Request = CHAT,
    fmt: WireFormat = WireFormat.openai_chat,
    seed: int = 0,
):  # type: ignore[no-untyped-def]
    return fault.apply(Plan(actions=()), ctx(request, fmt, seed))


def replay_transport(plan: Plan, calls: list[httpx2.Request]) -> httpx2.MockTransport:
    """A transport that answers every request with ``plan`` (a complete, buffered response)."""
    head = plan.head
    assert head is not None

    def handler(request: httpx2.Request) -> httpx2.Response:
        calls.append(request)
        return httpx2.Response(head.status, headers=list(head.headers), content=plan.body_bytes())

    return httpx2.MockTransport(handler)


def openai_client(plan: Plan, calls: list[httpx2.Request], max_retries: int = 0) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="sk-test",
        base_url="http://127.0.0.1:9/v1",
        http_client=httpx2.Client(transport=replay_transport(plan, calls)),
        max_retries=max_retries,
    )


def anthropic_client(plan: Plan, calls: list[httpx2.Request]) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="sk-ant-test",
        base_url="http://127.0.0.1:9",
        http_client=httpx2.Client(transport=replay_transport(plan, calls)),
        max_retries=0,
    )


def chat(client: openai.OpenAI) -> object:
    return client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )


def message(client: anthropic.Anthropic) -> object:
    return client.messages.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "hi"}]
    )


# -- the plan -------------------------------------------------------------------------------
def test_plan_is_a_complete_error_response_that_needs_no_recording() -> None:
    fault = HttpError(status=429, retry_after_s=1)
    assert fault.needs_source is False
    plan, alterations = apply(fault)
    assert [type(a) for a in plan.actions] == [SendHead, SendBytes, Close]
    assert plan.head is not None and plan.head.status == 429
    assert plan.head.header("retry-after") == "1"
    error = json.loads(plan.body_bytes())["error"]
    assert "gpt-4o-mini" in error["message"]  # the model the request asked for
    assert "Please try again in 1s." in error["message"]
    assert alterations[0].path == "response.status"
    assert alterations[0].original is None and alterations[0].value == 429


def test_replacing_a_recorded_response_records_its_status() -> None:
    recorded = Plan(
        actions=(SendHead(head={"status": 200, "headers": ()}), SendBytes(data=b"{}"), Close())
    )
    plan, alterations = HttpError(status=503).apply(recorded, ctx(CHAT, WireFormat.openai_chat))
    assert plan.head is not None and plan.head.status == 503
    assert plan.body_bytes() != b"{}"
    assert alterations[0].original == 200


def test_same_seed_same_plan_different_seed_different_request_id() -> None:
    fault = HttpError(status=429)
    a, _ = apply(fault, seed=7)
    b, _ = apply(fault, seed=7)
    c, _ = apply(fault, seed=8)
    assert a == b
    assert a.head.header("x-request-id") != c.head.header("x-request-id")  # type: ignore[union-attr]


def test_should_retry_and_retry_after_ms_headers() -> None:
    plan, _ = apply(HttpError(status=500, should_retry=False, retry_after_ms=300))
    assert plan.head.header("x-should-retry") == "false"  # type: ignore[union-attr]
    assert plan.head.header("retry-after-ms") == "300"  # type: ignore[union-attr]


def test_raw_body_override_guesses_html() -> None:
    page = "<html><body>502 Bad Gateway</body></html>"
    plan, _ = apply(HttpError(status=502, body=page))
    assert plan.body_bytes() == page.encode()
    assert plan.head.header("content-type").startswith("text/html")  # type: ignore[union-attr]
    plan, _ = apply(HttpError(status=400, body='{"detail": "bad"}'))
    assert plan.head.header("content-type") == "application/json"  # type: ignore[union-attr]
    plan, _ = apply(HttpError(status=400, body="oops", content_type="text/plain"))
    assert plan.head.header("content-type") == "text/plain"  # type: ignore[union-attr]


def test_tool_error_is_plain_json() -> None:
    plan, _ = apply(HttpError(status=503, message="orders db down"), TOOL, WireFormat.json)
    assert plan.head.status == 503  # type: ignore[union-attr]
    assert json.loads(plan.body_bytes())["error"]["message"] == "orders db down"


@pytest.mark.parametrize(
    "params",
    [
        {"status": 200},
        {"status": 399},
        {"status": 600},
        {"status": 429, "retry_after_s": -1},
        {"status": 429, "retry_after_ms": -5},
        {"status": 429, "retry_after_s": float("inf")},
        {"status": 429, "bogus": 1},
        {},
    ],
)
def test_invalid_parameters_are_rejected(params: dict) -> None:
    with pytest.raises(ValidationError):
        HttpError(**params)


def test_scenario_yaml_names_build_the_fault() -> None:
    fault = TypeAdapter(FaultSpec).validate_python(
        {
            "type": "http_error",
            "status": 429,
            "retry_after_s": 2.5,
            "error_type": "insufficient_quota",
        }
    )
    assert isinstance(fault, HttpError)
    assert fault.params()["retry_after_s"] == 2.5


def test_engine_answers_without_a_source() -> None:
    rule = Rule(fault=HttpError(status=529))
    engine = Engine(Scenario(name="overload", rules=[rule]))
    _, plan = engine.handle(MESSAGES, "anthropic", now_ms=0)
    assert plan.head is not None and plan.head.status == 529
    assert json.loads(plan.body_bytes())["error"]["type"] == "overloaded_error"
    (entry,) = engine.ledger.entries
    assert entry.faults[0].type == "http_error"
    assert entry.status == 529


# -- what the SDKs make of it ---------------------------------------------------------------
def test_openai_sdk_raises_rate_limit_error_with_code_type_and_request_id() -> None:
    plan, _ = apply(HttpError(status=429, retry_after_s=1))
    calls: list[httpx2.Request] = []
    with pytest.raises(openai.RateLimitError) as info:
        chat(openai_client(plan, calls))
    err = info.value
    assert err.status_code == 429
    assert err.code == "rate_limit_exceeded"
    assert err.type == "tokens"
    assert err.request_id == plan.head.header("x-request-id")  # type: ignore[union-attr]
    assert "Please try again in 1s." in err.message


def test_openai_sdk_sees_insufficient_quota_as_a_rate_limit_error() -> None:
    plan, _ = apply(HttpError(status=429, error_type="insufficient_quota"))
    with pytest.raises(openai.RateLimitError) as info:
        chat(openai_client(plan, []))
    assert info.value.code == "insufficient_quota"
    assert info.value.type == "insufficient_quota"


@pytest.mark.parametrize(
    ("status", "code"), [(500, None), (502, "502"), (503, "server_is_overloaded"), (529, None)]
)
def test_openai_sdk_maps_5xx_and_529_to_internal_server_error(
    status: int, code: str | None
) -> None:
    plan, _ = apply(HttpError(status=status))
    with pytest.raises(openai.InternalServerError) as info:
        chat(openai_client(plan, []))
    assert info.value.status_code == status
    assert info.value.code == code


def test_openai_sdk_honours_retry_after_ms_and_x_should_retry() -> None:
    retried, _ = apply(HttpError(status=429, retry_after_ms=1))
    calls: list[httpx2.Request] = []
    with pytest.raises(openai.RateLimitError):
        chat(openai_client(retried, calls, max_retries=2))
    assert len(calls) == 3  # retried twice, 1 ms apart

    final, _ = apply(HttpError(status=500, should_retry=False))
    calls = []
    with pytest.raises(openai.InternalServerError):
        chat(openai_client(final, calls, max_retries=2))
    assert len(calls) == 1  # x-should-retry: false stops the SDK's retries


def test_anthropic_sdk_raises_overloaded_error_on_529() -> None:
    plan, _ = apply(HttpError(status=529), MESSAGES, WireFormat.anthropic_messages)
    with pytest.raises(anthropic.OverloadedError) as info:
        message(anthropic_client(plan, []))
    err = info.value
    assert err.status_code == 529
    assert err.type == "overloaded_error"
    assert err.api_message == "Overloaded"
    assert err.request_id == plan.head.header("request-id")  # type: ignore[union-attr]
    assert err.body["request_id"] == err.request_id  # type: ignore[index]


def test_anthropic_sdk_reads_rate_limit_and_spend_limit() -> None:
    plan, _ = apply(
        HttpError(status=429, error_type="enforced_spend_limit_reached"),
        MESSAGES,
        WireFormat.anthropic_messages,
    )
    with pytest.raises(anthropic.RateLimitError) as info:
        message(anthropic_client(plan, []))
    assert info.value.type == "rate_limit_error"
    assert info.value.error_code == "enforced_spend_limit_reached"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, anthropic.BadRequestError),
        (401, anthropic.AuthenticationError),
        (404, anthropic.NotFoundError),
        (500, anthropic.InternalServerError),
        (503, anthropic.ServiceUnavailableError),
    ],
)
def test_anthropic_sdk_exception_classes(status: int, cls: type[Exception]) -> None:
    plan, _ = apply(HttpError(status=status), MESSAGES, WireFormat.anthropic_messages)
    with pytest.raises(cls):
        message(anthropic_client(plan, []))
