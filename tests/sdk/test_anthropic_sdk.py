"""The official anthropic SDK against real recordings through the in-process door, with faults."""

from __future__ import annotations

import time
from pathlib import Path

import anthropic
import httpx2
import pytest

from faultkit.session import FaultkitSession

REAL = Path(__file__).resolve().parents[1] / "cassettes-real"
PLAIN = REAL / "pydantic-ai__test_anthropic_model_retrying_after_empty_response.yaml"
TOOLS_STREAM = REAL / "openllmetry__test_anthropic_tools_streaming_legacy.yaml"
BASE_URL = "https://api.anthropic.com"
HI = [{"role": "user", "content": "Hi"}]


def _client(fk: FaultkitSession, **kwargs: object) -> anthropic.Anthropic:
    # anthropic 2.x accepts only httpx2 clients (it rejects httpx ones by name).
    kwargs.setdefault("max_retries", 0)
    return anthropic.Anthropic(
        api_key="test", base_url=BASE_URL, http_client=fk.httpx2_client(), **kwargs
    )


@pytest.mark.faultkit(cassette=str(PLAIN))
def test_message_replays_the_recorded_answer(faultkit: FaultkitSession) -> None:
    # pydantic-ai recorded this through the beta endpoint (?beta=true): ask the same URL.
    message = _client(faultkit).messages.create(
        model="claude-haiku-4-5", max_tokens=4096, messages=HI, extra_query={"beta": "true"}
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "# Hi there! 👋\n\nHow can I help you today?"
    assert message.usage.output_tokens == 18
    (entry,) = faultkit.ledger
    assert entry.route == "anthropic" and entry.format == "anthropic_messages"


@pytest.mark.faultkit(cassette=str(TOOLS_STREAM))
def test_sync_stream_builds_text_and_both_tool_uses(faultkit: FaultkitSession) -> None:
    client = _client(faultkit)
    with client.messages.stream(
        model="claude-3-5-sonnet-20240620", max_tokens=1024, messages=HI
    ) as stream:
        message = stream.get_final_message()
    text = "".join(b.text for b in message.content if b.type == "text")
    tools = [b for b in message.content if b.type == "tool_use"]
    assert text.startswith("Certainly! I can help you with that information")
    assert len(tools) == 2 and all(isinstance(t.input, dict) for t in tools)
    assert faultkit.ledger[0].ending == "completed"


@pytest.mark.faultkit(cassette=str(TOOLS_STREAM))
async def test_async_stream_events_arrive_in_order(faultkit: FaultkitSession) -> None:
    client = anthropic.AsyncAnthropic(
        api_key="test", base_url=BASE_URL, http_client=faultkit.async_httpx2_client(), max_retries=0
    )
    stream = await client.messages.create(
        model="claude-3-5-sonnet-20240620", max_tokens=1024, messages=HI, stream=True
    )
    kinds = [event.type async for event in stream]
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert kinds.count("content_block_start") == 3  # one text block, two tool_use blocks


@pytest.mark.faultkit(cassette=str(PLAIN))
def test_overloaded_529_is_retried_then_raised(faultkit: FaultkitSession) -> None:
    faultkit.inject({"type": "http_error", "status": 529, "retry_after_ms": 30})
    client = _client(faultkit, max_retries=1)
    with pytest.raises(anthropic.APIStatusError) as info:
        client.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=HI)
    assert info.value.status_code == 529
    assert [(e.logical_call, e.attempt) for e in faultkit.ledger] == [(1, 1), (1, 2)]


@pytest.mark.faultkit(cassette=str(TOOLS_STREAM))
async def test_slow_first_token_beyond_read_timeout_raises_read_timeout_from_the_iterator(
    faultkit: FaultkitSession,
) -> None:
    """The SDK turns the transport's ``httpx2.ReadTimeout`` mid-stream into its own
    ``APITimeoutError`` (chained from it), which is what an app's ``except`` sees."""
    faultkit.inject({"type": "slow_first_token", "delay_ms": 5000})
    client = anthropic.AsyncAnthropic(
        api_key="test",
        base_url=BASE_URL,
        http_client=faultkit.async_httpx2_client(),
        max_retries=0,
        timeout=httpx2.Timeout(5.0, read=0.2),
    )
    start = time.monotonic()
    stream = await client.messages.create(
        model="claude-3-5-sonnet-20240620", max_tokens=1024, messages=HI, stream=True
    )
    with pytest.raises(anthropic.APITimeoutError) as info:
        async for _event in stream:
            pass
    assert isinstance(info.value.__cause__, httpx2.ReadTimeout)
    assert time.monotonic() - start < 1.5
    assert faultkit.ledger[0].ending == "client_closed"  # gave up waiting, as on the wire
    assert (faultkit.ledger[0].error or "").startswith("read timeout")


@pytest.mark.faultkit(cassette=str(TOOLS_STREAM))
def test_heartbeats_keep_a_slow_first_token_alive(faultkit: FaultkitSession) -> None:
    faultkit.inject({"type": "slow_first_token", "delay_ms": 500, "heartbeat_ms": 100})
    client = _client(faultkit, timeout=httpx2.Timeout(5.0, read=0.3))
    start = time.monotonic()
    with client.messages.stream(
        model="claude-3-5-sonnet-20240620", max_tokens=1024, messages=HI
    ) as stream:
        message = stream.get_final_message()
    assert time.monotonic() - start >= 0.5  # waited the whole delay without timing out
    assert message.stop_reason is not None
