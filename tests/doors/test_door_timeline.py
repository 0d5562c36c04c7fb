"""The timeline: a plan laid out on the server's clock, and event timing taken from chunks."""

from __future__ import annotations

from faultkit.doors.timeline import (
    HEARTBEAT,
    content_after,
    event_offsets_ms,
    route_for_host,
    timeline,
)
from faultkit.exchange import ResponseHead
from faultkit.formats.sse import SSEEvent
from faultkit.plan import Close, Reset, SendBytes, SendEvent, SendHead, Wait

HEAD = SendHead(head=ResponseHead(status=200))


def _kinds_and_times(actions: list) -> list[tuple[str, float]]:
    return [(s.kind, round(s.at_s, 6)) for s in timeline(actions)]


def test_waits_move_the_clock_and_each_send_is_stamped() -> None:
    actions = [Wait(ms=100), HEAD, SendBytes(data=b"a"), Wait(ms=50), SendBytes(data=b"b"), Close()]
    assert _kinds_and_times(actions) == [
        ("head", 0.1),
        ("data", 0.1),
        ("data", 0.15),
        ("close", 0.15),
    ]


def test_heartbeats_fill_a_wait_after_the_head_only() -> None:
    actions = [Wait(ms=300, heartbeat_ms=100), HEAD, Wait(ms=250, heartbeat_ms=100), Close()]
    steps = list(timeline(actions))
    assert [(s.kind, round(s.at_s, 6)) for s in steps] == [
        ("head", 0.3),  # no heartbeat before the head: there is no body to put it in
        ("heartbeat", 0.4),
        ("heartbeat", 0.5),
        ("close", 0.55),
    ]
    assert all(s.data == HEARTBEAT for s in steps if s.kind == "heartbeat")


def test_nothing_after_a_reset_is_sent_and_a_missing_end_closes() -> None:
    assert [s.kind for s in timeline([HEAD, Reset(), SendBytes(data=b"x")])] == ["head", "reset"]
    assert [s.kind for s in timeline([HEAD, SendBytes(data=b"x")])] == ["head", "data", "close"]


def test_content_after_ignores_waits_and_clean_close() -> None:
    event = SendEvent(event=SSEEvent(data="[DONE]"))
    actions = [HEAD, event, Wait(ms=10), Close()]
    assert content_after(actions, 0)
    assert not content_after(actions, 1)
    assert content_after([HEAD, event, Reset()], 1)


def test_event_offsets_count_from_the_chunk_that_completed_each_event() -> None:
    body = b"data: 1\n\ndata: 2\n\ndata: 3\n\n"
    # chunk 1 (at 10 ms) ends halfway through event 2; chunk 2 (at 60 ms) carries the rest.
    marks = [(12, 10.0), (len(body), 60.0)]
    assert event_offsets_ms(body, marks, head_ms=5.0) == (5.0, 55.0, 55.0)


def test_routes_for_known_providers_and_other_hosts() -> None:
    assert route_for_host("api.openai.com") == "openai"
    assert route_for_host("API.Anthropic.com.") == "anthropic"
    assert route_for_host("127.0.0.1") == "127.0.0.1"
