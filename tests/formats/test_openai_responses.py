"""openai_responses helpers: every telling of an output item (added, deltas, done, item done,
terminal snapshot) is edited consistently, on a real Responses API stream."""

from __future__ import annotations

import copy
import json

from _format_samples import RESPONSES_STREAMS, payloads, real_events

from faultkit.formats import openai_responses as responses
from faultkit.formats.common import CallEdit

ID = "call_sVidsfFJ6zlzRpelrPkTPlpd"


def tellings(events, output_index: int = 0) -> dict[str, object]:  # type: ignore[no-untyped-def]
    """What each kind of event says about the function call at ``output_index``."""
    out: dict[str, object] = {"deltas": ""}
    for p in payloads(events):
        kind = p["type"]
        if kind == "response.function_call_arguments.delta" and p["output_index"] == output_index:
            out["deltas"] += p["delta"]  # type: ignore[operator]
        elif kind == "response.function_call_arguments.done" and p["output_index"] == output_index:
            out["done"] = p["arguments"]
        elif kind == "response.output_item.added" and p["output_index"] == output_index:
            out["added"] = p["item"]
        elif kind == "response.output_item.done" and p["output_index"] == output_index:
            out["item_done"] = p["item"]
        elif kind == "response.completed":
            out["completed"] = p["response"]["output"]
    return out


def final_body(events) -> dict:  # type: ignore[no-untyped-def]
    """The non-stream body a Responses call returns: the terminal event's response object."""
    return copy.deepcopy(events[-1].json()["response"])


def test_stream_tool_call_is_read_from_the_deltas() -> None:
    events = real_events(RESPONSES_STREAMS, 0)
    (call,) = responses.stream_tool_calls(events)
    assert (call.id, call.name, call.arguments) == (ID, "multiply", '{"a":1231,"b":2331}')


def test_stream_edit_changes_every_telling_alike() -> None:
    events = real_events(RESPONSES_STREAMS, 0)
    (call,) = responses.stream_tool_calls(events)
    new_events, inserts = responses.edit_stream_tool_call(
        events, call.key, CallEdit(arguments='{"a":12', name="divide", id="call_other")
    )
    assert inserts == {}
    assert len(new_events) == len(events)
    told = tellings(new_events)
    assert told["deltas"] == told["done"] == told["item_done"]["arguments"] == '{"a":12'
    assert told["completed"][0]["arguments"] == '{"a":12'
    assert told["added"]["arguments"] == ""  # the "added" snapshot is empty by design
    for item in (told["added"], told["item_done"], told["completed"][0]):
        assert (item["name"], item["call_id"]) == ("divide", "call_other")
    # Event names and sequence numbers are untouched.
    assert [e.event for e in new_events] == [e.event for e in events]
    assert [p["sequence_number"] for p in payloads(new_events)] == list(range(len(events)))


def test_stream_duplicate_inserts_a_complete_item_and_keeps_sequence_monotonic() -> None:
    events = real_events(RESPONSES_STREAMS, 0)
    (call,) = responses.stream_tool_calls(events)
    shifted, inserts = responses.duplicate_stream_tool_call(events, call.key)
    ((after, inserted),) = inserts.items()
    stream = [*shifted[: after + 1], *inserted, *shifted[after + 1 :]]
    numbers = [p["sequence_number"] for p in payloads(stream)]
    assert numbers == list(range(len(stream)))
    assert stream[-1].event == "response.completed"
    assert [e.event for e in inserted] == [json.loads(e.data)["type"] for e in inserted]

    calls = responses.stream_tool_calls(stream)
    assert [(c.id, c.name, c.arguments) for c in calls] == [(ID, "multiply", call.arguments)] * 2
    completed = tellings(stream)["completed"]
    assert [i["call_id"] for i in completed] == [ID, ID]
    assert completed[0]["id"] != completed[1]["id"]  # item ids stay unique; call ids repeat


def test_body_tool_calls_edit_and_duplicate() -> None:
    body = final_body(real_events(RESPONSES_STREAMS, 0))
    (call,) = responses.tool_calls(body)
    assert (call.id, call.where) == (ID, "output[0]")
    edited = responses.edit_tool_call(body, call.key, CallEdit(drop_id=True, arguments="{"))
    assert "call_id" not in edited["output"][0]
    assert edited["output"][0]["arguments"] == "{"
    assert body["output"][0]["call_id"] == ID
    twice = responses.duplicate_tool_call(body, call.key)
    assert [c.id for c in responses.tool_calls(twice)] == [ID, ID]


def test_output_text_in_stream_and_body() -> None:
    events = real_events(RESPONSES_STREAMS, 1)
    (slot,) = responses.stream_output_texts(events)
    assert slot.text == "1231 \u00d7 2331 = **2,869,461**"
    text = '{"product": 2869461}'
    new_events = responses.set_stream_output_text(events, slot.key, text)
    assert responses.stream_output_texts(new_events)[0].text == text
    p = {q["type"]: q for q in payloads(new_events)}
    assert p["response.output_text.done"]["text"] == text
    assert p["response.content_part.done"]["part"]["text"] == text
    assert p["response.output_item.done"]["item"]["content"][0]["text"] == text
    assert p["response.completed"]["response"]["output"][0]["content"][0]["text"] == text
    assert p["response.content_part.added"]["part"]["text"] == ""

    body = final_body(events)
    (body_slot,) = responses.output_texts(body)
    assert body_slot.text == slot.text
    assert body_slot.where == "output[0].content[0].text"
    changed = responses.set_output_text(body, body_slot.key, text)
    assert responses.output_texts(changed)[0].text == text
