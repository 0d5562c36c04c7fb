"""formats.ending: why an answer stopped, written where each format says it, usage kept
consistent, and nothing claimed that did not change."""

from __future__ import annotations

from faultkit.formats.detect import WireFormat
from faultkit.formats.ending import end_body, end_stream, output_tokens
from faultkit.formats.sse import SSEEvent

CHAT = WireFormat.openai_chat
RESPONSES = WireFormat.openai_responses
ANTHROPIC = WireFormat.anthropic_messages


def test_chat_body_length_with_usage_at_the_limit() -> None:
    doc = {
        "choices": [{"index": 0, "message": {"content": "hi"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 30,
            "total_tokens": 40,
            "completion_tokens_details": {"reasoning_tokens": 20},
        },
    }
    new, changes = end_body(doc, CHAT, "length", 8)
    assert new["choices"][0]["finish_reason"] == "length"
    assert new["usage"] == {
        "prompt_tokens": 10,
        "completion_tokens": 8,
        "total_tokens": 18,
        "completion_tokens_details": {"reasoning_tokens": 8},
    }
    assert [(c.path, c.original, c.value) for c in changes] == [
        ("choices[0].finish_reason", "stop", "length"),
        ("usage.completion_tokens", 30, 8),
    ]
    assert doc["choices"][0]["finish_reason"] == "stop"  # the input is not edited


def test_unchanged_fields_are_not_claimed() -> None:
    doc = {"stop_reason": "end_turn", "content": [], "usage": {"output_tokens": 3}}
    _, changes = end_body(doc, ANTHROPIC, "stop", None)
    assert changes == []


def test_responses_stream_ends_with_response_incomplete() -> None:
    response = {
        "id": "r",
        "status": "completed",
        "output": [{"type": "message", "status": "completed"}],
    }
    response["usage"] = {"input_tokens": 4, "output_tokens": 9, "total_tokens": 13}
    events = [
        SSEEvent(
            event="response.created", data='{"type":"response.created","response":{"id":"r"}}'
        ),
        SSEEvent(event="response.completed").with_json(
            {"type": "response.completed", "response": response}
        ),
    ]
    new, _ = end_stream(events, RESPONSES, "length", 5, item=0)
    assert new[0] is events[0]  # untouched events keep their bytes
    last = new[1]
    payload = last.json()
    assert last.event == payload["type"] == "response.incomplete"
    assert payload["response"]["status"] == "incomplete"
    assert payload["response"]["incomplete_details"] == {"reason": "max_output_tokens"}
    assert payload["response"]["output"][0]["status"] == "incomplete"
    assert payload["response"]["usage"] == {
        "input_tokens": 4,
        "output_tokens": 5,
        "total_tokens": 9,
    }
    assert output_tokens(RESPONSES, events=new) == 5


def test_anthropic_stream_stop_reason_in_message_delta() -> None:
    events = [
        SSEEvent(event="message_start").with_json(
            {"type": "message_start", "message": {"usage": {"input_tokens": 5, "output_tokens": 1}}}
        ),
        SSEEvent(event="message_delta").with_json(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                "usage": {"output_tokens": 40},
            }
        ),
    ]
    assert output_tokens(ANTHROPIC, events=events) == 40
    new, changes = end_stream(events, ANTHROPIC, "refusal", None)
    assert new[1].json()["delta"]["stop_reason"] == "refusal"
    assert new[1].event == "message_delta"
    assert [c.value for c in changes] == ["refusal"]
