"""openai_chat helpers: tool calls and answer text in real Chat Completions bodies and streams."""

from __future__ import annotations

import copy
import json

from _format_samples import (
    CHAT_STREAMS,
    CHAT_TEXT_BODY,
    CHAT_TOOL_BODY,
    CHAT_TWO_TOOLS_STREAM,
    payloads,
    real_events,
    real_json,
)
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from faultkit.formats import openai_chat
from faultkit.formats.common import CallEdit
from faultkit.formats.sse import encode_events, parse_events


def sdk_assembled(events) -> list[tuple[str | None, str | None, str]]:  # type: ignore[no-untyped-def]
    """Tool calls as the openai SDK's own stream accumulator assembles them."""
    state = ChatCompletionStreamState()
    for event in events:
        payload = event.json()
        if isinstance(payload, dict):
            state.handle_chunk(ChatCompletionChunk.model_validate(payload))
    message = state.get_final_completion().choices[0].message
    return [(c.id, c.function.name, c.function.arguments) for c in message.tool_calls or []]


def test_body_tool_calls_read_and_edit() -> None:
    doc = real_json(CHAT_TOOL_BODY, 1)
    before = copy.deepcopy(doc)
    (call,) = openai_chat.tool_calls(doc)
    assert (call.id, call.name) == ("call_p39CVeTmIRmqTlopIZn7hsic", "final_result")
    assert json.loads(call.arguments) == {"city": "Mexico City", "country": "Mexico"}
    assert call.where == "choices[0].message.tool_calls[0]"

    edited = openai_chat.edit_tool_call(doc, call.key, CallEdit(arguments='{"ci', name="x", id=""))
    (new,) = openai_chat.tool_calls(edited)
    assert (new.id, new.name, new.arguments) == ("", "x", '{"ci')
    assert doc == before

    dropped = openai_chat.edit_tool_call(doc, call.key, CallEdit(drop_id=True))
    assert "id" not in dropped["choices"][0]["message"]["tool_calls"][0]

    twice = openai_chat.duplicate_tool_call(doc, call.key)
    assert [c.id for c in openai_chat.tool_calls(twice)] == [call.id, call.id]
    assert doc == before


def test_body_without_tool_calls_has_none() -> None:
    doc = real_json(CHAT_TEXT_BODY)
    assert openai_chat.tool_calls(doc) == []
    (slot,) = openai_chat.output_texts(doc)
    assert slot.text.startswith("Hello!")
    assert (
        openai_chat.output_texts(openai_chat.set_output_text(doc, slot.key, "{}"))[0].text == "{}"
    )
    assert openai_chat.tool_calls({"not": "chat"}) == []


def test_stream_tool_calls_match_the_sdk_accumulator() -> None:
    events = real_events(CHAT_TWO_TOOLS_STREAM)
    calls = openai_chat.stream_tool_calls(events)
    assert [(c.id, c.name, c.arguments) for c in calls] == sdk_assembled(events)
    assert [json.loads(c.arguments) for c in calls] == [
        {"location": "Seattle, WA"},
        {"location": "San Francisco, CA"},
    ]
    assert calls[1].where == "stream.choices[0].tool_calls[1]"


def test_stream_edit_respreads_arguments_over_the_same_events() -> None:
    events = real_events(CHAT_TWO_TOOLS_STREAM)
    calls = openai_chat.stream_tool_calls(events)
    new_events, inserts = openai_chat.edit_stream_tool_call(
        events, calls[1].key, CallEdit(arguments='{"location": "San', id="", name="other")
    )
    assert inserts == {}
    assert len(new_events) == len(events)
    # Re-encoded events still parse as SSE, and the SDK assembles the edited call.
    reparsed = parse_events(encode_events(new_events))
    assert sdk_assembled(reparsed) == [
        (calls[0].id, calls[0].name, calls[0].arguments),
        ("", "other", '{"location": "San'),
    ]
    # The first call's events are byte-identical; every tool fragment keeps its index.
    first_call_events = range(1, 8)
    assert all(new_events[i].raw == events[i].raw for i in first_call_events)
    indexes = [
        [t["index"] for t in p["choices"][0]["delta"].get("tool_calls", [])]
        for p in payloads(new_events)
        if isinstance(p, dict) and p["choices"]
    ]
    assert indexes == [
        [t["index"] for t in p["choices"][0]["delta"].get("tool_calls", [])]
        for p in payloads(events)
        if isinstance(p, dict) and p["choices"]
    ]


def test_stream_duplicate_adds_a_call_with_the_next_index_and_same_id() -> None:
    events = real_events(CHAT_STREAMS, 0)
    (call,) = openai_chat.stream_tool_calls(events)
    same, inserts = openai_chat.duplicate_stream_tool_call(events, call.key)
    assert same == events
    ((after, (chunk,)),) = inserts.items()
    payload = chunk.json()
    fragment = payload["choices"][0]["delta"]["tool_calls"][0]
    assert fragment["index"] == 1
    assert (fragment["id"], fragment["function"]["name"]) == (call.id, call.name)
    assert payload["id"] == events[0].json()["id"]  # same completion id as its neighbours
    stream = [*events[: after + 1], chunk, *events[after + 1 :]]
    assert sdk_assembled(stream) == [(call.id, call.name, call.arguments)] * 2


def test_stream_output_text_reassembled_and_rewritten() -> None:
    events = real_events(CHAT_STREAMS, 1)
    (slot,) = openai_chat.stream_output_texts(events)
    assert slot.text == "The capital of the UK is London."
    for text in ['{"capital": "London", "country": "United Kingdom"}', "Lon"]:
        new_events = openai_chat.set_stream_output_text(events, slot.key, text)
        assert len(new_events) == len(events)
        assert openai_chat.stream_output_texts(new_events)[0].text == text
    # Events without content (finish, usage, [DONE]) keep their recorded bytes.
    assert new_events[-1].raw == events[-1].raw
    assert new_events[-2].raw == events[-2].raw
