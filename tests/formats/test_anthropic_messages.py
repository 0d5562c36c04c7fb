"""anthropic_messages helpers: tool_use blocks and text blocks in real Messages bodies/streams."""

from __future__ import annotations

import copy
import json

import pytest
from _format_samples import (
    ANTHROPIC_EMPTY_INPUT_STREAM,
    ANTHROPIC_TOOL_BODY,
    ANTHROPIC_TOOLS_STREAM,
    payloads,
    real_events,
    real_json,
)

from faultkit.formats import anthropic_messages as anthropic
from faultkit.formats.common import CallEdit
from faultkit.formats.sse import encode_events, parse_events


def test_body_tool_use_input_object_and_broken_input() -> None:
    doc = real_json(ANTHROPIC_TOOL_BODY, 1)
    before = copy.deepcopy(doc)
    (call,) = anthropic.tool_calls(doc)
    assert (call.id, call.name) == ("toolu_01UKDf4fk894G2BEpiPSwL6s", "final_result")
    assert json.loads(call.arguments) == {"city": "Mexico City", "country": "Mexico"}

    valid = anthropic.edit_tool_call(doc, call.key, CallEdit(arguments='{"city": "Lima"}'))
    assert valid["content"][0]["input"] == {"city": "Lima"}
    # Half an object cannot be an object: it is sent as a string input (F13).
    broken = anthropic.edit_tool_call(doc, call.key, CallEdit(arguments='{"city": "Mex'))
    assert broken["content"][0]["input"] == '{"city": "Mex'
    assert doc == before

    twice = anthropic.duplicate_tool_call(doc, call.key)
    assert [c.id for c in anthropic.tool_calls(twice)] == [call.id, call.id]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [('{"a": 1}', {"a": 1}), ("[1]", "[1]"), ("", ""), ("{", "{"), ('"{}"', '"{}"')],
)
def test_input_value_only_objects_stay_objects(arguments: str, expected: object) -> None:
    assert anthropic.input_value(arguments) == expected


def test_stream_tool_calls_and_text() -> None:
    events = real_events(ANTHROPIC_TOOLS_STREAM)
    calls = anthropic.stream_tool_calls(events)
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("get_weather", {"location": "San Francisco, CA", "unit": "celsius"}),
        ("get_time", {"timezone": "America/Los_Angeles"}),
    ]
    assert [c.key for c in calls] == [1, 2]
    (text,) = anthropic.stream_output_texts(events)
    assert text.text.startswith("Certainly! I can help")


def test_stream_edit_keeps_event_names_and_other_blocks() -> None:
    events = real_events(ANTHROPIC_TOOLS_STREAM)
    calls = anthropic.stream_tool_calls(events)
    new_events, inserts = anthropic.edit_stream_tool_call(
        events, calls[0].key, CallEdit(arguments='{"location": "San', name="nope", id="")
    )
    assert inserts == {}
    assert [e.event for e in new_events] == [e.event for e in events]
    again = anthropic.stream_tool_calls(parse_events(encode_events(new_events)))
    assert [(c.id, c.name, c.arguments) for c in again] == [
        ("", "nope", '{"location": "San'),
        (calls[1].id, calls[1].name, calls[1].arguments),
    ]
    untouched = [i for i, p in enumerate(payloads(events)) if p.get("index") in (0, 2)]
    assert all(new_events[i].raw == events[i].raw for i in untouched)


def test_stream_edit_of_a_block_without_fragments_inserts_one() -> None:
    events = [
        e
        for e in real_events(ANTHROPIC_EMPTY_INPUT_STREAM)
        if (e.json() or {}).get("type") != "content_block_delta"
    ]
    (call,) = anthropic.stream_tool_calls(events)
    assert call.arguments == ""
    new_events, inserts = anthropic.edit_stream_tool_call(events, call.key, CallEdit(arguments="{"))
    ((after, (fragment,)),) = inserts.items()
    assert events[after].event == "content_block_start"
    assert fragment.event == "content_block_delta"
    stream = [*new_events[: after + 1], fragment, *new_events[after + 1 :]]
    assert anthropic.stream_tool_calls(stream)[0].arguments == "{"


def test_stream_duplicate_is_a_new_block_before_message_delta() -> None:
    events = real_events(ANTHROPIC_TOOLS_STREAM)
    calls = anthropic.stream_tool_calls(events)
    same, inserts = anthropic.duplicate_stream_tool_call(events, calls[0].key)
    ((after, inserted),) = inserts.items()
    assert events[after].event == "content_block_stop"
    assert events[after + 1].event == "message_delta"
    assert [e.event for e in inserted] == [
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
    ]
    assert {e.json()["index"] for e in inserted} == {3}
    stream = [*same[: after + 1], *inserted, *same[after + 1 :]]
    again = anthropic.stream_tool_calls(stream)
    assert [(c.id, c.arguments) for c in again] == [
        (calls[0].id, calls[0].arguments),
        (calls[1].id, calls[1].arguments),
        (calls[0].id, calls[0].arguments),
    ]


def test_set_stream_text_block() -> None:
    events = real_events(ANTHROPIC_TOOLS_STREAM)
    (slot,) = anthropic.stream_output_texts(events)
    new_events = anthropic.set_stream_output_text(events, slot.key, '{"ok": true}')
    assert anthropic.stream_output_texts(new_events)[0].text == '{"ok": true}'
    assert len(new_events) == len(events)
    body = {"content": [{"type": "text", "text": "hi"}, {"type": "tool_use", "input": {}}]}
    (body_slot,) = anthropic.output_texts(body)
    assert anthropic.set_output_text(body, body_slot.key, "x")["content"][0]["text"] == "x"


def test_a_stream_whose_event_data_is_not_json_reads_without_crashing() -> None:
    """The event line says content_block_start/delta, the data is not JSON (malformed_body
    invalid_json on a stream): the ledger's tool-call reading crashed the engine's replay."""
    from faultkit.formats.anthropic_messages import stream_tool_calls
    from faultkit.formats.sse import parse_events

    body = (
        b"event: content_block_start\ndata: {not json\n\n"
        b"event: content_block_delta\ndata: <html>\n\n"
    )
    assert stream_tool_calls(parse_events(body)) == []
