"""broken_sse: cut mid-event, missing terminator, a data line that is not JSON."""

from __future__ import annotations

import json
import random

import pytest
from _fault_samples import openai_client, real_setup
from pydantic import ValidationError

from faultkit.exchange import Request, Response, ResponseHead
from faultkit.faults.base import FaultContext
from faultkit.faults.broken_sse import BrokenSSE
from faultkit.formats.detect import WireFormat, detect_format
from faultkit.formats.sse import parse_events
from faultkit.plan import Close, Plan, Reset, SendBytes, SendEvent, SendHead

OPENAI_STREAM = "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"
ANTHROPIC_STREAM = "openllmetry__test_anthropic_tools_streaming_legacy.yaml"
RESPONSES_STREAM = "llm__test_responses_tool_use_streaming.yaml"

MCP_REQUEST = Request(
    method="POST",
    url="http://127.0.0.1:8000/mcp",
    body=b'{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get_weather","arguments":{"location":"NYC"}}}',
)
MCP_STREAM = (
    b'event: message\ndata: {"jsonrpc":"2.0","method":"notifications/progress",'
    b'"params":{"progressToken":3,"progress":3,"total":10}}\n\n'
    b'event: message\ndata: {"jsonrpc":"2.0","id":3,"result":{"content":[{"type":"text",'
    b'"text":"{\\"temperature\\":22.5}"}],"isError":false}}\n\n'
)


def openai_stream(plan: Plan) -> list[object]:
    """Iterate the openai SDK's raw stream over ``plan``'s bytes; returns the chunks."""
    chat = openai_client(plan).chat.completions
    return list(chat.create(model="gpt-4o-mini", messages=[], stream=True))


# -- cut_mid_event ----------------------------------------------------------------------------
def test_cut_mid_event_sends_earlier_events_then_part_of_one_then_resets() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    events = plan.events()
    new, alterations = BrokenSSE(kind="cut_mid_event", at_event=3).apply(plan, ctx)
    assert new.events() == events[:3]
    partial = new.actions[-2]
    assert isinstance(partial, SendBytes) and isinstance(new.actions[-1], Reset)
    raw = events[3].encode()
    assert raw.startswith(partial.data) and len(b"data: {") < len(partial.data) < len(raw) - 2
    assert b"\n" not in partial.data  # cut inside the JSON, before the line ends
    assert alterations[0].path == "response.events[3]"
    assert (alterations[0].original, alterations[0].value) == (len(raw), len(partial.data))
    assert alterations[1].path == "response.events[4:]"
    assert alterations[1].original == len(events) - 4


def test_cut_mid_event_default_event_is_seeded_json_and_end_can_be_close() -> None:
    fault = BrokenSSE(kind="cut_mid_event", end="close")
    a = fault.apply(*real_setup(ANTHROPIC_STREAM, 1))
    assert a == fault.apply(*real_setup(ANTHROPIC_STREAM, 1))
    assert isinstance(a.plan.actions[-1], Close)
    chosen = {fault.apply(*real_setup(ANTHROPIC_STREAM, s)).alterations[0].path for s in range(6)}
    assert len(chosen) > 1


def test_cut_mid_event_with_a_clean_close_is_a_silent_truncation() -> None:
    # An SSE parser discards an unterminated event at EOF, so the client just sees fewer chunks.
    new, _ = BrokenSSE(kind="cut_mid_event", at_event=2, end="close").apply(
        *real_setup(OPENAI_STREAM)
    )
    assert len(openai_stream(new)) == 2


# -- missing_terminator -----------------------------------------------------------------------
def test_missing_done_on_openai_chat() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    events = plan.events()
    assert events[-1].is_done_sentinel
    new, alterations = BrokenSSE(kind="missing_terminator").apply(plan, ctx)
    assert new.events() == events[:-1]
    assert isinstance(new.actions[-1], Close)
    assert alterations[0].path == f"response.events[{len(events) - 1}:]"
    assert alterations[0].original == ["[DONE]"]
    chunks = openai_stream(new)  # the SDK ends quietly: the partial answer looks complete
    assert len(chunks) == len(events) - 1


def test_missing_message_stop_on_anthropic() -> None:
    plan, ctx = real_setup(ANTHROPIC_STREAM)
    new, _ = BrokenSSE(kind="missing_terminator", end="reset").apply(plan, ctx)
    names = [e.event for e in new.events()]
    assert "message_stop" not in names and names[-1] == "message_delta"
    assert len(names) == len(plan.events()) - 1
    assert isinstance(new.actions[-1], Reset)


def test_missing_response_completed_on_responses() -> None:
    plan, ctx = real_setup(RESPONSES_STREAM)
    new, alterations = BrokenSSE(kind="missing_terminator").apply(plan, ctx)
    names = [e.event for e in new.events()]
    assert "response.completed" not in names
    assert names == [e.event for e in plan.events()][:-1]
    assert json.loads(alterations[0].original[0])["type"] == "response.completed"


def test_missing_jsonrpc_response_on_mcp() -> None:
    response = Response(
        head=ResponseHead(status=200, headers=(("content-type", "text/event-stream"),)),
        body=MCP_STREAM,
    )
    fmt = detect_format(MCP_REQUEST, response.content_type)
    assert fmt == WireFormat.mcp
    plan = Plan.from_response(response)
    new, alterations = BrokenSSE(kind="missing_terminator").apply(
        plan, FaultContext(MCP_REQUEST, fmt, random.Random(0))
    )
    (progress,) = new.events()
    assert progress.json()["method"] == "notifications/progress"
    assert json.loads(alterations[0].original[0])["result"]["isError"] is False


def test_without_terminator_nothing_changes() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    trimmed = plan.map_events(lambda i, e: None if e.is_done_sentinel else e)
    assert BrokenSSE(kind="missing_terminator").apply(trimmed, ctx) == (trimmed, [])


# -- invalid_data_line ------------------------------------------------------------------------
def test_invalid_data_line_keeps_the_event_name_and_the_rest_of_the_stream() -> None:
    plan, ctx = real_setup(ANTHROPIC_STREAM)
    events = plan.events()
    new, alterations = BrokenSSE(kind="invalid_data_line", at_event=4).apply(plan, ctx)
    after = parse_events(new.body_bytes())
    assert len(after) == len(events)
    assert after[4].event == events[4].event
    assert after[4].json() is None and after[4].data
    assert after[4].data[-1] in "{[,:"  # stops right after a structural character
    assert events[4].data.startswith(after[4].data)  # type: ignore[union-attr]
    assert [e.data for i, e in enumerate(after) if i != 4] == [
        e.data for i, e in enumerate(events) if i != 4
    ]
    assert alterations[0].original == events[4].data
    assert alterations[0].value == after[4].data


def test_invalid_data_line_custom_meta_line_breaks_the_openai_sdk() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    new, alterations = BrokenSSE(kind="invalid_data_line", at_event=1, line="retry: 3000").apply(
        plan, ctx
    )
    assert new.events()[1].encode() == b"retry: 3000\n\n"
    assert alterations[0].value == "retry: 3000"
    with pytest.raises(json.JSONDecodeError):
        openai_stream(new)


def test_invalid_data_line_with_end_stops_after_the_broken_event() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    new, _ = BrokenSSE(kind="invalid_data_line", at_event=2, end="reset").apply(plan, ctx)
    assert len(new.events()) == 3
    assert isinstance(new.actions[-1], Reset)


def test_at_event_past_the_end_means_the_last_event() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    _, alterations = BrokenSSE(kind="cut_mid_event", at_event=500).apply(plan, ctx)
    assert alterations[0].path == f"response.events[{len(plan.events()) - 1}]"


def test_plan_without_events_is_unchanged() -> None:
    plan = Plan(actions=(SendHead(head={"status": 200}), SendBytes(data=b"{}"), Close()))
    _, ctx = real_setup(OPENAI_STREAM)
    for kind in ("cut_mid_event", "missing_terminator", "invalid_data_line"):
        assert BrokenSSE(kind=kind).apply(plan, ctx) == (plan, [])


def test_applies_only_to_sse_speaking_formats() -> None:
    fault = BrokenSSE(kind="missing_terminator")
    assert fault.applies_to(WireFormat.openai_chat) and fault.applies_to(WireFormat.mcp)
    assert not fault.applies_to(WireFormat.json)


def test_head_and_earlier_events_are_untouched() -> None:
    plan, ctx = real_setup(RESPONSES_STREAM)
    new, _ = BrokenSSE(kind="cut_mid_event", at_event=5).apply(plan, ctx)
    assert new.actions[0] == plan.actions[0] and isinstance(new.actions[0], SendHead)
    assert all(isinstance(a, SendEvent) for a in new.actions[1:6])


@pytest.mark.parametrize(
    "params",
    [
        {"kind": "cut"},
        {},
        {"kind": "cut_mid_event", "at_event": -1},
        {"kind": "cut_mid_event", "end": "explode"},
        {"kind": "invalid_data_line", "line": ""},
    ],
)
def test_invalid_parameters_are_rejected(params: dict) -> None:
    with pytest.raises(ValidationError):
        BrokenSSE(**params)
