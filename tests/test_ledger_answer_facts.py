"""The ledger keeps what budget, loop and side-effect verdicts read: every provider answer's
token usage and the tools it asked for, and a tool request's idempotency key. Checked with the
official SDKs replaying real recordings through the in-process door, streamed and not, and with
a fault that changes the usage (the ledger holds what the SDK saw)."""

from __future__ import annotations

from pathlib import Path

import anthropic
import httpx
import openai
import pytest

from faultkit.formats.usage import TokenUsage
from faultkit.session import FaultkitSession

REAL = Path(__file__).resolve().parent / "cassettes-real"
TWO_TURN_STREAM = REAL / "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"
SIMPLE = REAL / "pydantic-ai__test_request_simple_usage.yaml"
ANTHROPIC_TOOLS_STREAM = REAL / "openllmetry__test_anthropic_tools_streaming_legacy.yaml"
HELLO = [{"role": "user", "content": "Hello! How are you doing?"}]


@pytest.mark.faultkit(cassette=str(TWO_TURN_STREAM), match_on=("method", "path"))
def test_openai_stream_usage_and_tool_calls(faultkit: FaultkitSession) -> None:
    client = openai.OpenAI(
        api_key="test",
        base_url="https://api.openai.com/v1",
        http_client=faultkit.httpx2_client(),
        max_retries=0,
    )
    ask = [{"role": "user", "content": "What is the capital of the UK?"}]
    chunks = list(client.chat.completions.create(model="gpt-4o-mini", messages=ask, stream=True))
    seen = [c.usage for c in chunks if c.usage is not None]
    list(client.chat.completions.create(model="gpt-4o-mini", messages=ask, stream=True))
    first, second = faultkit.ledger
    assert seen[-1].prompt_tokens == first.usage.input_tokens == 53
    assert seen[-1].completion_tokens == first.usage.output_tokens == 15
    assert first.tool_calls == ["get_capital"]
    assert second.usage == TokenUsage(78, 9) and second.tool_calls == []


@pytest.mark.faultkit(cassette=str(ANTHROPIC_TOOLS_STREAM))
def test_anthropic_stream_usage_is_what_the_sdk_reports(faultkit: FaultkitSession) -> None:
    client = anthropic.Anthropic(
        api_key="test",
        base_url="https://api.anthropic.com",
        http_client=faultkit.httpx2_client(),
        max_retries=0,
    )
    with client.messages.stream(
        model="claude-3-5-sonnet-20240620",
        max_tokens=1024,
        messages=[{"role": "user", "content": "Hi"}],
    ) as stream:
        message = stream.get_final_message()
    (entry,) = faultkit.ledger
    assert entry.usage == TokenUsage(message.usage.input_tokens, message.usage.output_tokens)
    assert entry.tool_calls == [b.name for b in message.content if b.type == "tool_use"]


@pytest.mark.faultkit(cassette=str(SIMPLE))
def test_a_fault_that_changes_the_usage_is_recorded_as_the_sdk_saw_it(
    faultkit: FaultkitSession,
) -> None:
    faultkit.inject({"type": "token_limit", "max_tokens": 7})
    client = openai.OpenAI(
        api_key="test",
        base_url="https://api.openai.com/v1",
        http_client=faultkit.client(),
        max_retries=0,
    )
    completion = client.chat.completions.create(model="gpt-4o", messages=HELLO)
    (entry,) = faultkit.ledger
    assert completion.choices[0].finish_reason == "length"
    assert entry.usage is not None
    assert entry.usage.output_tokens == completion.usage.completion_tokens == 7
    assert entry.usage.input_tokens == completion.usage.prompt_tokens


@pytest.mark.faultkit(cassette=str(SIMPLE))
def test_a_tool_request_keeps_its_idempotency_key(faultkit: FaultkitSession) -> None:
    faultkit.inject({"type": "http_error", "status": 503}, match={"route": "payments.example"})
    client = faultkit.client()
    url = "https://payments.example/v1/refunds"
    client.post(url, json={"order": "A1"}, headers={"Idempotency-Key": "refund-A1"})
    client.post(url, json={"order": "A1"}, headers={"X-Idempotency-Key": " refund-A1 "})
    client.post(url, json={"order": "A1"})
    assert [e.idempotency_key for e in faultkit.ledger] == ["refund-A1", "refund-A1", None]
    assert all(e.usage is None and e.tool_calls == [] for e in faultkit.ledger)
    assert isinstance(client, httpx.Client)
