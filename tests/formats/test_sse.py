"""SSE parsing keeps every byte of unedited events, so replay is exact."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from faultkit.formats.sse import SSEEvent, SSEParser, encode_events, parse_events


def test_parses_fields_comments_and_done() -> None:
    body = (
        b': ping\n\nevent: message_start\ndata: {"a": 1}\n\nid: 5\nretry: 3000\n\ndata: [DONE]\n\n'
    )
    events = parse_events(body)
    assert [e.comments for e in events] == [(" ping",), (), (), ()]
    assert events[1].event == "message_start" and events[1].json() == {"a": 1}
    assert events[2].id == "5" and events[2].retry == 3000 and events[2].data is None
    assert events[3].is_done_sentinel
    assert encode_events(events) == body


def test_crlf_and_multiline_data() -> None:
    body = b"data: line1\r\ndata: line2\r\n\r\n"
    (event,) = parse_events(body)
    assert event.data == "line1\nline2"
    assert event.encode() == body


def test_edited_event_is_reencoded_validly() -> None:
    (event,) = parse_events(b'event: x\ndata: {"a":1}\n\n')
    edited = event.with_json({"a": 2})
    assert edited.encode() == b'event: x\ndata: {"a":2}\n\n'
    assert parse_events(edited.encode())[0].json() == {"a": 2}


def test_unterminated_tail_is_kept() -> None:
    events = parse_events(b'data: {"a":1}\n\ndata: {"b"')
    assert len(events) == 2 and events[1].raw == b'data: {"b"'


@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"),
            max_size=30,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_roundtrip_of_built_events(datas: list[str]) -> None:
    events = [SSEEvent(event="e", data=d) for d in datas]
    body = encode_events(events)
    parsed = parse_events(body)
    assert [p.data for p in parsed] == datas
    assert encode_events(parsed) == body


@given(
    st.lists(
        st.sampled_from([b'data: {"a": 1}', b"\n", b"\r", b"\r\n", b": c", b"event: x", b"d"]),
        max_size=30,
    ),
    st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=10),
)
def test_incremental_parser_finds_the_same_events_however_the_stream_is_chunked(
    parts: list[bytes], sizes: list[int]
) -> None:
    body = b"".join(parts)
    parser = SSEParser()
    events: list[SSEEvent] = []
    i = 0
    k = 0
    while i < len(body):
        size = sizes[k % len(sizes)]
        events += parser.feed(body[i : i + size])
        i += size
        k += 1
    events += parser.flush()
    assert events == parse_events(body)


def test_incremental_parser_gives_each_event_when_its_blank_line_arrives() -> None:
    parser = SSEParser()
    assert parser.feed(b'data: {"a": 1}\r\n\r') == []
    (first,) = parser.feed(b"\ndata: [DO")
    assert first.raw == b'data: {"a": 1}\r\n\r\n'
    assert parser.feed(b"NE]") == []
    (last,) = parser.flush()
    assert last.is_done_sentinel and last.raw == b"data: [DONE]"
