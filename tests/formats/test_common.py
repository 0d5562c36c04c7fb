"""common: re-spreading text over fragments, JSON inside answer text, and plan plumbing."""

from __future__ import annotations

import gzip
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faultkit.exchange import Response, ResponseHead
from faultkit.formats.common import (
    NOT_JSON,
    parse_json_text,
    read_json_body,
    render_json_text,
    replace_events,
    respread,
    write_json_body,
)
from faultkit.formats.sse import SSEEvent
from faultkit.plan import Plan, SendEvent, Wait


@given(st.lists(st.integers(0, 6), min_size=1, max_size=8), st.text(max_size=40))
def test_respread_keeps_the_text_and_the_fragment_count(lengths: list[int], text: str) -> None:
    pieces = respread(lengths, text)
    assert "".join(pieces) == text
    assert len(pieces) == len(lengths)
    assert all(len(p) <= n for p, n in zip(pieces[:-1], lengths[:-1], strict=True))


def test_respread_keeps_recorded_sizes_while_text_lasts() -> None:
    assert respread([2, 3, 1], "abcdefXYZ") == ["ab", "cde", "fXYZ"]
    assert respread([2, 3, 1], "abc") == ["ab", "c", ""]
    assert respread([0, 0], "all") == ["", "all"]
    assert respread([], "x") == []


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1,"b":[1,2]}',
        '{"a": 1, "b": [1, 2]}',
        '  {"a": 1}\n',
        '{\n  "a": 1,\n  "b": [\n    1\n  ]\n}',
        '{\n    "a": [\n        1\n    ]\n}',
        '```json\n{"a": 1}\n```',
        "[1, 2]",
    ],
)
def test_json_text_round_trips_in_its_original_layout(text: str) -> None:
    parsed = parse_json_text(text)
    assert parsed is not None
    assert render_json_text(parsed, parsed.value) == text


@pytest.mark.parametrize("text", ["Hello!", "", "42", '"json string"', "{broken", "null"])
def test_prose_and_scalars_are_not_structured_output(text: str) -> None:
    assert parse_json_text(text) is None


def test_rendering_an_edited_value_keeps_the_fence() -> None:
    parsed = parse_json_text('```json\n{"a": 1}\n```')
    assert parsed is not None
    assert render_json_text(parsed, {"b": 2}) == '```json\n{"b": 2}\n```'


def plan_of(body: bytes, *headers: tuple[str, str]) -> Plan:
    head = ResponseHead(status=200, headers=(("content-type", "application/json"), *headers))
    return Plan.from_response(Response(head=head, body=body))


def test_json_body_read_and_write_through_gzip() -> None:
    plan = plan_of(gzip.compress(b'{"a": 1}'), ("content-encoding", "gzip"))
    assert read_json_body(plan) == {"a": 1}
    new = write_json_body(plan, {"a": 2})
    assert json.loads(new.body_bytes()) == {"a": 2}
    assert new.head is not None and new.head.header("content-encoding") is None
    assert new.head.header("content-type") == "application/json"


def test_non_json_bodies_are_reported_as_such() -> None:
    assert read_json_body(plan_of(b"<html>502</html>")) is NOT_JSON
    assert read_json_body(plan_of(b"")) is NOT_JSON
    sse = ResponseHead(status=200, headers=(("content-type", "text/event-stream"),))
    stream = Plan.from_response(Response(head=sse, body=b"data: {}\n\n"))
    assert read_json_body(stream) is NOT_JSON


def test_replace_events_keeps_waits_and_inserts_after() -> None:
    head = ResponseHead(status=200, headers=(("content-type", "text/event-stream"),))
    response = Response(head=head, body=b"data: 1\n\ndata: 2\n\n", event_offsets_ms=(10.0, 30.0))
    plan = Plan.from_response(response)
    events = plan.events()
    new = replace_events(plan, [events[0], SSEEvent(data="two")], {0: [SSEEvent(data="1.5")]})
    kinds = [type(a).__name__ for a in new.actions]
    assert kinds == ["SendHead", "Wait", "SendEvent", "SendEvent", "Wait", "SendEvent", "Close"]
    assert [e.data for e in new.events()] == ["1", "1.5", "two"]
    assert [a.ms for a in new.actions if isinstance(a, Wait)] == [10.0, 20.0]
    # The unchanged event is the very same action (its recorded bytes are kept).
    assert next(a for a in new.actions if isinstance(a, SendEvent)).event.raw == b"data: 1\n\n"
