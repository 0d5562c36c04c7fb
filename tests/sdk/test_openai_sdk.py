"""The official openai SDK against real recordings through the in-process door, with faults.

No network: every answer comes from tests/cassettes-real through the ``faultkit``
fixture's clients (httpx and httpx2, sync and async).
"""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import httpx
import openai
import pytest

from faultkit.session import FaultkitSession

REAL = Path(__file__).resolve().parents[1] / "cassettes-real"
SIMPLE = REAL / "pydantic-ai__test_request_simple_usage.yaml"
TOOLS_STREAM = REAL / (
    "opentelemetry-python-contrib__test_chat_completion_multiple_tools_streaming_with_content.yaml"
)
TWO_TURN_STREAM = REAL / "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"
BASE_URL = "https://api.openai.com/v1"
RECORDED_ANSWER = (
    "Hello! I'm just a computer program, so I don't have feelings, but I'm here and ready to "
    "help you. How can I assist you today?"
)
HELLO = [{"role": "user", "content": "Hello! How are you doing?"}]


def _client(fk: FaultkitSession, **kwargs: object) -> openai.OpenAI:
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(api_key="test", base_url=BASE_URL, http_client=fk.client(), **kwargs)


def _tool_calls(chunks: list) -> dict[int, dict[str, str]]:
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            for call in choice.delta.tool_calls or []:
                entry = calls.setdefault(call.index, {"name": "", "arguments": ""})
                if call.function.name:
                    entry["name"] += call.function.name
                entry["arguments"] += call.function.arguments or ""
    return calls


# -- replay -------------------------------------------------------------------------------------


@pytest.mark.faultkit(cassette=str(SIMPLE))
def test_sync_completion_replays_the_recorded_answer(faultkit: FaultkitSession) -> None:
    completion = _client(faultkit).chat.completions.create(model="gpt-4o", messages=HELLO)
    assert completion.choices[0].message.content == RECORDED_ANSWER
    assert completion.usage is not None and completion.usage.total_tokens == 44
    (entry,) = faultkit.ledger
    assert entry.recording == f"{SIMPLE}#0" and entry.ending == "completed"
    assert entry.format == "openai_chat" and entry.model == "gpt-4o"


@pytest.mark.faultkit(cassette=str(TOOLS_STREAM))
async def test_async_stream_delivers_both_parallel_tool_calls(faultkit: FaultkitSession) -> None:
    client = openai.AsyncOpenAI(
        api_key="test", base_url=BASE_URL, http_client=faultkit.async_httpx2_client(), max_retries=0
    )
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "What's the weather in Seattle and San Francisco?"}],
        stream=True,
    )
    chunks = [chunk async for chunk in stream]
    calls = _tool_calls(chunks)
    assert sorted(calls) == [0, 1]
    assert {c["name"] for c in calls.values()} == {"get_current_weather"}
    locations = {json.loads(c["arguments"])["location"] for c in calls.values()}
    assert any("Seattle" in loc for loc in locations)
    assert any("San Francisco" in loc for loc in locations)
    assert faultkit.ledger[0].ending == "completed"


@pytest.mark.faultkit(cassette=str(TWO_TURN_STREAM), match_on=("method", "path"))
def test_sync_streams_a_tool_call_then_the_answer(faultkit: FaultkitSession) -> None:
    client = openai.OpenAI(
        api_key="test", base_url=BASE_URL, http_client=faultkit.httpx2_client(), max_retries=0
    )
    ask = [{"role": "user", "content": "What is the capital of the UK? Use the tool, then answer."}]
    first = list(client.chat.completions.create(model="gpt-4o-mini", messages=ask, stream=True))
    (call,) = _tool_calls(first).values()
    assert call["name"] == "get_capital" and json.loads(call["arguments"]) == {"country": "UK"}
    second = client.chat.completions.create(model="gpt-4o-mini", messages=ask, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in second if c.choices)
    assert "London" in text
    assert [e.recording for e in faultkit.ledger] == [
        f"{TWO_TURN_STREAM}#0",
        f"{TWO_TURN_STREAM}#1",
    ]


# -- faults -------------------------------------------------------------------------------------


@pytest.mark.faultkit(cassette=str(SIMPLE))
def test_429_is_retried_after_retry_after_then_raised(faultkit: FaultkitSession) -> None:
    faultkit.inject({"type": "http_error", "status": 429, "retry_after_ms": 60}, name="limited")
    client = _client(faultkit, max_retries=2)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o", messages=HELLO)
    ledger = faultkit.ledger
    assert [(e.logical_call, e.attempt, e.status) for e in ledger] == [
        (1, 1, 429),
        (1, 2, 429),
        (1, 3, 429),
    ]
    gaps = [b.arrival_ms - a.end_ms for a, b in itertools.pairwise(ledger)]  # type: ignore[operator]
    assert all(gap >= 55 for gap in gaps), gaps  # the SDK honoured retry-after-ms
    assert all(e.faults[0].rule == "limited" for e in ledger)


@pytest.mark.faultkit(cassette=str(SIMPLE))
def test_one_429_then_the_recording_answers(faultkit: FaultkitSession) -> None:
    faultkit.inject({"type": "http_error", "status": 429, "retry_after_ms": 10}, when={"nth": 1})
    completion = _client(faultkit, max_retries=2).chat.completions.create(
        model="gpt-4o", messages=HELLO
    )
    assert completion.choices[0].message.content == RECORDED_ANSWER
    assert [(e.attempt, e.status) for e in faultkit.ledger] == [(1, 429), (2, 200)]


@pytest.mark.faultkit(cassette=str(SIMPLE), playback="repeat")
def test_latency_fault_measurably_delays_the_call(faultkit: FaultkitSession) -> None:
    client = _client(faultkit)
    start = time.monotonic()
    client.chat.completions.create(model="gpt-4o", messages=HELLO)
    baseline = time.monotonic() - start
    faultkit.inject({"type": "latency", "latency_ms": 300})
    start = time.monotonic()
    client.chat.completions.create(model="gpt-4o", messages=HELLO)
    delayed = time.monotonic() - start
    assert delayed >= 0.3 and delayed - baseline >= 0.25


@pytest.mark.faultkit(cassette=str(TOOLS_STREAM))
def test_stall_longer_than_read_timeout_raises_api_timeout_while_streaming(
    faultkit: FaultkitSession,
) -> None:
    faultkit.inject({"type": "stall", "stall_ms": 5000, "after_events": 2})
    client = _client(faultkit, timeout=httpx.Timeout(5.0, read=0.2))
    stream = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    received = []
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 2
    assert time.monotonic() - start < 1.5  # the read timeout fired, not the 5 s stall
    assert faultkit.ledger[0].ending == "client_closed"  # gave up waiting, as on the wire
    assert (faultkit.ledger[0].error or "").startswith("read timeout")


@pytest.mark.faultkit(cassette=str(TOOLS_STREAM))
async def test_reset_mid_stream_raises_api_connection_error(faultkit: FaultkitSession) -> None:
    faultkit.inject({"type": "reset", "at": "mid_body", "after_events": 3})
    client = openai.AsyncOpenAI(
        api_key="test", base_url=BASE_URL, http_client=faultkit.async_client(), max_retries=0
    )
    stream = await client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True)
    received = []
    with pytest.raises(openai.APIConnectionError) as info:
        async for chunk in stream:
            received.append(chunk)
    assert isinstance(info.value.__cause__, httpx.ReadError)  # reset by peer, as via the proxy
    assert len(received) == 3
    assert faultkit.ledger[0].ending == "reset"


@pytest.mark.faultkit(cassette=str(TOOLS_STREAM), playback="repeat")
def test_stream_closed_early_gives_the_sdk_a_short_stream_without_error(
    faultkit: FaultkitSession,
) -> None:
    client = _client(faultkit)
    full = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    faultkit.inject({"type": "stall", "stall_ms": 10, "after_events": 4, "then": "close"})
    short = list(client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, stream=True))
    assert len(short) == 4 < len(full)
    assert [c.model_dump() for c in short] == [c.model_dump() for c in full[:4]]
