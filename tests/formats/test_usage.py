"""Token usage and tool-call names read from provider answers: real recorded bodies and streams
(``tests/cassettes-real``) for every provider format, the shapes only a stream has (Chat's
``usage: null`` chunks, Anthropic's split input and cumulative output), and cache counts."""

from __future__ import annotations

import json

import pytest

from faultkit.formats.sse import SSEEvent, parse_events
from faultkit.formats.usage import AnswerFeed, AnswerReader, TokenUsage, read_answer
from tests.formats._format_samples import (
    ANTHROPIC_EMPTY_INPUT_STREAM,
    ANTHROPIC_TOOL_BODY,
    ANTHROPIC_TOOLS_STREAM,
    CHAT_STREAMS,
    CHAT_TEXT_BODY,
    CHAT_TOOL_BODY,
    CHAT_TWO_TOOLS_STREAM,
    RESPONSES_STREAMS,
    real_body,
)


@pytest.mark.parametrize(
    ("name", "index", "fmt", "usage", "calls"),
    [
        (CHAT_TOOL_BODY, 0, "openai_chat", (68, 11), ["get_user_country"]),
        (CHAT_TEXT_BODY, 0, "openai_chat", (14, 30), []),
        (CHAT_TWO_TOOLS_STREAM, 0, "openai_chat", (75, 51), ["get_current_weather"] * 2),
        (CHAT_STREAMS, 0, "openai_chat", (53, 15), ["get_capital"]),
        (CHAT_STREAMS, 1, "openai_chat", (78, 9), []),
        (RESPONSES_STREAMS, 0, "openai_responses", (58, 23), ["multiply"]),
        (RESPONSES_STREAMS, 1, "openai_responses", (94, 18), []),
        (ANTHROPIC_TOOL_BODY, 0, "anthropic_messages", (711, 23), ["get_user_country"]),
        (ANTHROPIC_TOOLS_STREAM, 0, "anthropic_messages", (506, 153), ["get_weather", "get_time"]),
        (ANTHROPIC_EMPTY_INPUT_STREAM, 0, "anthropic_messages", (543, 40), None),
    ],
)
def test_real_answers(
    name: str, index: int, fmt: str, usage: tuple[int, int], calls: list[str] | None
) -> None:
    body = real_body(name, index)
    reader = read_answer(fmt, body)
    assert reader.usage == TokenUsage(input_tokens=usage[0], output_tokens=usage[1])
    if calls is not None:
        assert reader.tool_calls() == calls
    # The same stream fed event by event, as a door passes it on, reads the same.
    if body.lstrip()[:1] != b"{":
        live = AnswerReader(fmt)
        for event in parse_events(body):
            live.event(event)
        assert live.usage == reader.usage
        assert live.tool_calls() == reader.tool_calls()


def _event(payload: dict) -> SSEEvent:
    return SSEEvent(data=json.dumps(payload))


def test_chat_stream_without_include_usage_reports_none() -> None:
    chunk = {"choices": [{"index": 0, "delta": {"content": "hi"}}], "usage": None}
    reader = read_answer("openai_chat", events=[_event(chunk), SSEEvent(data="[DONE]")])
    assert reader.usage is None
    assert reader.tool_calls() == []


def test_chat_cached_tokens_are_part_of_the_input() -> None:
    usage = {
        "prompt_tokens": 2006,
        "completion_tokens": 300,
        "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920},
    }
    reader = read_answer("openai_chat", json.dumps({"choices": [], "usage": usage}).encode())
    assert reader.usage == TokenUsage(2006, 300, 1920)
    assert reader.usage.total == 2306


def test_anthropic_cache_reads_and_writes_are_added_to_the_input() -> None:
    """Anthropic counts cache reads and writes apart from ``input_tokens``; the budget counts
    every input token billed."""
    start = {
        "type": "message_start",
        "message": {
            "usage": {
                "input_tokens": 25,
                "cache_read_input_tokens": 1000,
                "cache_creation_input_tokens": 200,
                "output_tokens": 1,
            }
        },
    }
    delta1 = {"type": "message_delta", "delta": {}, "usage": {"output_tokens": 12}}
    delta2 = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": 40},
    }
    reader = read_answer(
        "anthropic_messages", events=[_event(start), _event(delta1), _event(delta2)]
    )
    assert reader.usage == TokenUsage(input_tokens=1225, output_tokens=40, cached_tokens=1000)


def test_responses_terminal_event_and_cut_stream() -> None:
    created = {"type": "response.created", "response": {"usage": None, "output": []}}
    done = {
        "type": "response.incomplete",
        "response": {
            "usage": {
                "input_tokens": 10,
                "output_tokens": 64,
                "input_tokens_details": {"cached_tokens": 4},
            }
        },
    }
    assert read_answer("openai_responses", events=[_event(created)]).usage is None
    full = read_answer("openai_responses", events=[_event(created), _event(done)])
    assert full.usage == TokenUsage(10, 64, 4)


def test_non_provider_formats_and_bodies_that_are_not_json_give_nothing() -> None:
    assert read_answer("json", b'{"usage": {"prompt_tokens": 5}}').usage is None
    assert read_answer("openai_chat", b"<html>502</html>").usage is None
    assert read_answer("openai_chat", b"").tool_calls() == []


@pytest.mark.parametrize(
    ("name", "index", "fmt"),
    [
        (CHAT_STREAMS, 0, "openai_chat"),
        (RESPONSES_STREAMS, 0, "openai_responses"),
        (ANTHROPIC_TOOLS_STREAM, 0, "anthropic_messages"),
        (ANTHROPIC_TOOL_BODY, 0, "anthropic_messages"),
        (CHAT_TOOL_BODY, 0, "openai_chat"),
    ],
)
@pytest.mark.parametrize("size", [1, 7, 4096])
def test_a_live_answer_fed_in_chunks_reads_as_the_whole(
    name: str, index: int, fmt: str, size: int
) -> None:
    """A door passes an answer on in chunks of any size, a blank line or a JSON value split
    across them; the feed reads what the whole body gives."""
    body = real_body(name, index)
    sse = body.lstrip()[:1] != b"{"
    feed = AnswerFeed(fmt, "text/event-stream; charset=utf-8" if sse else "application/json")
    for start in range(0, len(body), size):
        feed.feed(body[start : start + size])
    reader, whole = feed.finish(), read_answer(fmt, body)
    assert reader.usage == whole.usage and reader.usage is not None
    assert reader.tool_calls() == whole.tool_calls()


def test_a_json_answer_past_the_bound_is_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("faultkit.formats.usage.MAX_ANSWER_BYTES", 64)
    feed = AnswerFeed("openai_chat", "application/json")
    feed.feed(real_body(CHAT_TOOL_BODY))
    assert feed.finish().usage is None


def test_a_broken_event_that_mentions_a_name_is_passed_over() -> None:
    """A malformed_body fault leaves a frame that does not parse; the reader must not fail
    on it (the engine reads every planned answer)."""
    broken = SSEEvent(event="content_block_start", data='{"type":"content_block_start","name"')
    events = [*parse_events(real_body(ANTHROPIC_TOOLS_STREAM)), broken]
    reader = read_answer("anthropic_messages", events=events)
    assert reader.tool_calls() == ["get_weather", "get_time"]
