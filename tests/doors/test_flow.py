"""The exchange flow on its own: events in, decisions and ledger facts out, no socket.

Both doors drive this one object, so what a request means (mode, ending, head facts, the
recording) is tested here once; the door tests check that each door feeds it faithfully.
"""

from __future__ import annotations

from asyncio import CancelledError
from collections.abc import Callable

import pytest
from door_helpers import CHAT_URL, MemorySource, json_response, script, sse_response

from faultkit.doors.flow import Capture, ExchangeFlow, Forward, Replay, clock
from faultkit.doors.liveplay import left_behind
from faultkit.engine import Engine
from faultkit.errors import UnmatchedRequest
from faultkit.exchange import Request, Response, ResponseHead
from faultkit.ledger import LedgerEntry
from faultkit.live import Timed
from faultkit.plan import Close, Plan, SendBytes, SendHead, Wait

REQUEST = Request(method="POST", url=CHAT_URL, body=b'{"model": "gpt-4o"}')
# MCP's GET channel: server-to-client events for as long as the session lasts
PUSH = Request(method="GET", url="http://tools/mcp", headers=(("accept", "text/event-stream"),))
ORIGIN = 1000.0  # monotonic seconds the test clock counts from


def flow_for(
    engine: Engine, mode: str = "replay", *, recorder: object = None, request: Request = REQUEST
) -> ExchangeFlow:
    return ExchangeFlow(
        engine,
        request,
        "openai",
        mode=mode,
        clock=clock(ORIGIN),
        arrived_at=ORIGIN + 0.010,
        recorder=recorder,  # type: ignore[arg-type]
    )


def engine_with(*responses: Response) -> Engine:
    source = MemorySource()
    for response in responses:
        source.add("POST", "/v1/chat/completions", response)
    return Engine(source=source, routes={})


def live_capture(status: int = 200, headers: list[tuple[bytes, bytes]] | None = None) -> Capture:
    raw = headers if headers is not None else [(b"content-type", b"application/json")]
    return Capture(status, b"", raw, head_ms=5.0)


def only_entry(engine: Engine) -> LedgerEntry:
    (entry,) = engine.ledger.entries
    return entry


def test_replay_answers_from_the_recording_and_completes_once() -> None:
    engine = engine_with(json_response())
    flow = flow_for(engine)
    decision = flow.decide()
    assert isinstance(decision, Replay) and decision.plan.head is not None
    flow.head_sent(ORIGIN + 0.020)
    flow.sent(12)
    flow.plan_ended()
    flow.plan_ended("reset", "a second ending is ignored")
    entry = only_entry(engine)
    assert (entry.ending, entry.bytes_sent, entry.error) == ("completed", 12, None)
    assert (entry.arrival_ms, entry.first_byte_ms) == (10.0, 20.0)


def test_unmatched_replay_closes_the_entry_as_unmatched() -> None:
    engine = engine_with()
    flow = flow_for(engine)
    with pytest.raises(UnmatchedRequest):
        flow.decide()
    assert only_entry(engine).ending == "unmatched" and flow.finished


@pytest.mark.parametrize(
    ("mode", "record"), [("passthrough", False), ("record", True), ("new_episodes", True)]
)
def test_forwarding_modes_forward_and_say_whether_to_record(mode: str, record: bool) -> None:
    decision = flow_for(engine_with(), mode, recorder=lambda *_: None).decide()
    assert decision == Forward(record=record, whole=False)


def test_new_episodes_replays_what_is_recorded() -> None:
    engine = engine_with(json_response())
    decision = flow_for(engine, "new_episodes", recorder=lambda *_: None).decide()
    assert isinstance(decision, Replay)
    assert only_entry(engine).recording == "memory#/v1/chat/completions"


@pytest.mark.parametrize("mode", ["replay", "record", "new_episodes", "passthrough"])
def test_a_fault_that_needs_no_source_is_answered_in_every_mode(mode: str) -> None:
    engine = engine_with()
    answer = Plan(actions=(SendHead(head=ResponseHead(status=429)), Close()))
    script(engine, lambda _plan: answer, alone=True)
    decision = flow_for(engine, mode, recorder=lambda *_: None).decide()
    assert decision == Replay(answer)


def test_a_fault_on_a_live_answer_goes_through_the_faults_as_it_arrives() -> None:
    engine = engine_with()
    script(engine, lambda plan: plan)
    recorded: list[tuple[Request, Response]] = []
    flow = flow_for(engine, "record", recorder=lambda req, resp: recorded.append((req, resp)))
    assert flow.decide() == Forward(record=True, whole=True)
    capture = live_capture()
    flow.live(capture)
    capture.add(b'{"ok": true}', 7.5)
    flow.live_complete(capture, record=True)
    assert [resp.body for _, resp in recorded] == [b'{"ok": true}']


def test_a_passed_through_429_writes_its_retry_after_into_the_ledger() -> None:
    engine = engine_with()
    flow = flow_for(engine, "passthrough")
    flow.decide()
    capture = live_capture(429, [(b"Retry-After", b"2"), (b"x-should-retry", b"true")])
    flow.head_received(capture, b'{"error": {"message": "You exceeded your current quota",')
    capture.add(b' "type": "insufficient_quota", "code": "insufficient_quota"}}', 6.0)
    flow.body_complete()
    entry = only_entry(engine)
    assert (entry.status, entry.retry_after_ms, entry.should_retry) == (429, 2000.0, True)
    assert entry.error_code == "insufficient_quota"  # a retry cannot help (H3's D7)
    assert entry.ending == "completed"


def test_a_recorded_stream_keeps_when_each_event_arrived() -> None:
    engine = engine_with()
    recorded: list[Response] = []
    flow = flow_for(engine, "record", recorder=lambda _req, resp: recorded.append(resp))
    flow.decide()
    capture = live_capture(200, [(b"content-type", b"text/event-stream")])
    flow.head_received(capture)
    body = sse_response().body
    first, rest = body[:60], body[60:]
    capture.add(first, 105.0)
    capture.add(rest, 305.0)
    flow.body_complete()
    (response,) = recorded
    assert response.body == body
    assert response.first_byte_ms == 5.0
    assert response.event_offsets_ms == (100.0, 300.0, 300.0)


def test_a_client_that_leaves_a_live_answer_early_abandons_it_and_nothing_is_recorded() -> None:
    engine = engine_with()
    recorded: list[Response] = []
    flow = flow_for(engine, "record", recorder=lambda _req, resp: recorded.append(resp))
    flow.decide()
    flow.head_received(live_capture())
    assert flow.wants_rest
    flow.client_gone()
    assert only_entry(engine).ending == "client_closed" and recorded == []


def test_a_client_gone_after_the_whole_body_arrived_unseen_is_client_closed_but_recorded() -> None:
    engine = engine_with()
    recorded: list[Response] = []
    flow = flow_for(engine, "record", recorder=lambda _req, resp: recorded.append(resp))
    flow.decide()
    capture = live_capture()
    flow.head_received(capture)
    capture.add(b"{}", 6.0)
    capture.complete = True
    flow.client_gone(unseen=2)
    assert only_entry(engine).ending == "client_closed" and len(recorded) == 1


@pytest.mark.parametrize(("delivered", "ending"), [(1, "client_closed"), (3, "completed")])
def test_a_client_leaving_a_plan_loses_content_only_if_content_was_still_to_come(
    delivered: int, ending: str
) -> None:
    engine = engine_with(json_response())
    flow = flow_for(engine)
    flow.decide()
    plan = Plan(
        actions=(
            SendHead(head=ResponseHead(status=200)),
            SendBytes(data=b"a"),
            Wait(ms=10),
            SendBytes(data=b"b"),
            Wait(ms=10),
            Close(),
        )
    )
    flow.client_gone_during_plan(plan, delivered)
    assert only_entry(engine).ending == ending


def test_upstream_errors_end_as_error_before_the_head_and_reset_after_it() -> None:
    engine = Engine(source=MemorySource(), routes={})
    before = flow_for(engine, "passthrough")
    before.upstream_failed("cannot connect")
    after = flow_for(engine, "passthrough")
    after.head_received(live_capture())
    after.upstream_broke("connection closed by the upstream")
    first, second = engine.ledger.entries
    assert (first.ending, first.error) == ("error", "cannot connect")
    assert (second.ending, second.error) == ("reset", "upstream: connection closed by the upstream")


def test_a_push_stream_is_forwarded_but_never_recorded_and_ends_when_the_client_closes_it() -> None:
    engine = Engine(routes={})
    flow = flow_for(engine, "record", recorder=lambda *_: None, request=PUSH)
    assert flow.decide() == Forward(record=False, whole=False)
    flow.head_received(live_capture(200, [(b"content-type", b"text/event-stream")]))
    flow.client_gone()  # the session ended: nothing was lost (H3's D9)
    assert only_entry(engine).ending == "completed"


PENDING_PLAN = Plan(
    actions=(
        SendHead(head=ResponseHead(status=200)),
        Wait(ms=50),
        SendBytes(data=b"later"),
        Close(),
    )
)

# A live plan's actions after the last bytes delivered: a 60 s stall (begun at ORIGIN), a close
STALL_THEN_CLOSE = [Timed(ORIGIN, Wait(ms=60000, heartbeat_ms=5000)), Timed(ORIGIN + 60, Close())]


def _leave_before_the_head(flow: ExchangeFlow) -> None:
    flow.client_gone()  # no head had come from the upstream


def _leave_a_live_answer(flow: ExchangeFlow) -> None:
    flow.head_received(live_capture(200, [(b"content-type", b"text/event-stream")]))
    flow.client_gone()  # nothing final had passed


def _leave_a_lazy_plan(flow: ExchangeFlow) -> None:
    flow.client_left(lost=True)  # what both doors' live players say: the upstream had not ended


def _leave_a_planned_answer(flow: ExchangeFlow) -> None:
    flow.client_gone_during_plan(PENDING_PLAN, 0)  # content was still to come


def _time_out(flow: ExchangeFlow) -> None:
    flow.timed_out("read timeout (1 s)")  # the proxy sees only a hang-up


def _be_cancelled(flow: ExchangeFlow) -> None:
    flow.failed(CancelledError())  # a task (the proxy's, the client's) cancelled


def _give_up_on_a_stall(flow: ExchangeFlow) -> None:
    # a live player's hang-up: the upstream ended, only a close after the stall was left
    content, wait_left = left_behind(STALL_THEN_CLOSE, ORIGIN + 1.0)
    assert (content, wait_left) == (False, 59.0)
    flow.client_left(lost=content, waited_s=1.0, wait_left_s=wait_left)


@pytest.mark.parametrize(
    "leave",
    [
        _leave_before_the_head,
        _leave_a_live_answer,
        _leave_a_lazy_plan,
        _leave_a_planned_answer,
        _time_out,
        _be_cancelled,
        _give_up_on_a_stall,
    ],
)
@pytest.mark.parametrize(
    ("request_", "ending"),
    [
        pytest.param(PUSH, "completed", id="push-channel"),
        pytest.param(REQUEST, "client_closed", id="request"),
    ],
)
def test_a_client_leaving_ends_by_one_rule_and_a_push_channel_is_never_abandoned(
    leave: Callable[[ExchangeFlow], None], request_: Request, ending: str
) -> None:
    """D9: the MCP session's GET stream, under a fault, ended ``completed`` in one door and
    ``client_closed`` in the other, by whether the server's end of the channel (after the
    DELETE) or the client's close reached the door first. Every way a client leaves goes
    through one rule: a request/response exchange with something still to come, or left
    during a planned stall, is abandoned; a push channel never is, whatever was in flight."""
    engine = Engine(routes={})
    flow = flow_for(engine, "passthrough", request=request_)
    flow.decide()
    leave(flow)
    assert only_entry(engine).ending == ending


def test_a_passed_through_provider_answer_gives_its_usage_and_tool_calls() -> None:
    engine = engine_with()
    flow = flow_for(engine, "passthrough")
    flow.decide()
    body = (
        b'{"id": "c1", "object": "chat.completion", "model": "gpt-4o", "choices": [{"index": 0,'
        b' "message": {"role": "assistant", "content": null, "tool_calls": [{"id": "t1", "type":'
        b' "function", "function": {"name": "get_weather", "arguments": "{}"}}]},'
        b' "finish_reason": "tool_calls"}], "usage": {"prompt_tokens": 12,'
        b' "completion_tokens": 5, "total_tokens": 17}}'
    )
    capture = live_capture()
    flow.head_received(capture, body[:40])  # the bytes that came in with the head
    capture.add(body[40:], 6.0)
    flow.body_complete()
    entry = only_entry(engine)
    assert entry.usage is not None
    assert (entry.usage.input_tokens, entry.usage.output_tokens) == (12, 5)
    assert entry.tool_calls == ["get_weather"]


@pytest.mark.parametrize(
    ("last", "ending"),
    [
        (b"data: [DONE]\n\n", "completed"),
        (b'event: message_stop\ndata: {"type": "message_stop"}\n\n', "completed"),
        (b'data: {"jsonrpc": "2.0", "id": 3, "result": {"tools": []}}\n\n', "completed"),
        (b'data: {"choices": [{"delta": {"content": "lo"}}]}\n\n', "client_closed"),
    ],
)
def test_a_client_leaving_a_live_stream_after_its_final_event_lost_nothing(
    last: bytes, ending: str
) -> None:
    """H3's D5: an SDK reads a live stream to its final event and hangs up before the
    body's own end (the chunked terminator) was read: nothing was lost, as the proxy sees."""
    engine = engine_with()
    flow = flow_for(engine, "passthrough")
    flow.decide()
    capture = live_capture(200, [(b"content-type", b"text/event-stream")])
    flow.head_received(capture)
    capture.add(b'data: {"choices": [{"delta": {"content": "Hel"}}]}\n\n', 5.0)
    capture.add(last, 6.0)
    flow.client_gone()
    assert only_entry(engine).ending == ending


@pytest.mark.parametrize("keep", [True, False])
@pytest.mark.parametrize(
    ("status", "headers", "body", "ending"),
    [
        (200, [(b"content-length", b"2")], b"{}", "completed"),
        (200, [(b"content-length", b"10")], b"{}", "client_closed"),
        (202, [(b"content-length", b"0")], b"", "completed"),
        (204, [], b"", "completed"),
    ],
)
def test_a_body_of_known_length_that_all_passed_is_complete_however_the_client_left(
    keep: bool, status: int, headers: list[tuple[bytes, bytes]], body: bytes, ending: str
) -> None:
    """H3's D9: the client hangs up right after the last byte; whether the upstream's
    end-of-body was read first must not decide the ending (in either door)."""
    engine = engine_with()
    flow = flow_for(engine, "passthrough")
    flow.decide()
    capture = Capture(status, b"", headers, 5.0, keep=keep)
    flow.head_received(capture)
    capture.add(body, 6.0)
    flow.client_gone()
    assert only_entry(engine).ending == ending
