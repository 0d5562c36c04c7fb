"""A live answer through the engine (``Engine.live``) gets the same faults as the same answer
planned whole (``Engine.plan``): the same actions, the same ledger facts; and its timing is the
timing the upstream gave, shifted by the waits the faults put in.

Pure: the answers are real recordings (tests/cassettes-real), fed to the live plan in chunks
with made-up arrival times, the way a door feeds what it reads from an upstream socket.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faultkit.engine import Engine
from faultkit.exchange import Request, Response, ResponseHead
from faultkit.faults import FAULTS
from faultkit.faults._search import Limits
from faultkit.faults.base import WholeBody
from faultkit.live import LivePlan, Timed
from faultkit.plan import Action, Plan, Reset, SendBytes, SendEvent, SendHead, Wait
from faultkit.scenario import Rule, Scenario

sys.path.insert(0, str(Path(__file__).parent / "faults"))
from _fault_samples import real

OPENAI_STREAM = "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"
ANTHROPIC_STREAM = "openllmetry__test_anthropic_tools_streaming_legacy.yaml"
OPENAI_JSON = "pydantic-ai__test_request_simple_usage.yaml"
TOOLS_STREAM = (
    "opentelemetry-python-contrib__test_chat_completion_multiple_tools_streaming_with_content.yaml"
)

STREAM_FAULTS: list[dict[str, Any]] = [
    {"type": "latency", "latency_ms": 250},
    {"type": "latency", "latency_ms": 250, "jitter_ms": 100},
    {"type": "slow_first_token", "delay_ms": 800},
    {"type": "slow_first_token", "delay_ms": 800, "heartbeat_ms": 200},
    {"type": "stall", "stall_ms": 500, "after_events": 3},
    {"type": "stall", "stall_ms": 500, "after_events": 0, "heartbeat_ms": 100},
    {"type": "stall", "stall_ms": 500, "after_events": 2, "then": "close"},
    {"type": "stall", "stall_ms": 500, "after_events": 2, "then": "reset"},
    {"type": "stall", "stall_ms": 500, "after_bytes": 300},
    {"type": "stall", "stall_ms": 500, "after_events": 10_000},
    {"type": "reset", "after_events": 4},
    {"type": "reset", "after_events": 0},
    {"type": "reset", "after_bytes": 250},
    {"type": "reset", "after_bytes": 10**6},
    {"type": "reset", "at": "before_head"},
    {"type": "timeout", "timeout_ms": 3000},
    {"type": "broken_sse", "kind": "missing_terminator"},
    {"type": "broken_sse", "kind": "missing_terminator", "end": "reset"},
    {"type": "broken_sse", "kind": "cut_mid_event", "at_event": 3},
    {"type": "broken_sse", "kind": "cut_mid_event", "at_event": 0, "end": "close"},
    {"type": "broken_sse", "kind": "invalid_data_line", "at_event": 2},
    {"type": "broken_sse", "kind": "invalid_data_line", "at_event": 1, "line": "retry: 3000"},
    {"type": "broken_sse", "kind": "invalid_data_line", "at_event": 4, "end": "close"},
]
# Faults that need the whole body (or parameters that do): the buffering adaptor runs them.
WHOLE_FAULTS: list[dict[str, Any]] = [
    {"type": "reset"},
    {"type": "stall", "stall_ms": 500},
    {"type": "broken_sse", "kind": "cut_mid_event"},
    {"type": "broken_sse", "kind": "invalid_data_line"},
    {"type": "malformed_body", "kind": "truncated_json"},
    {"type": "http_error", "status": 429, "retry_after_s": 2},
    {"type": "schema_drift", "op": "drop", "target": "body"},
    {"type": "tool_call", "kind": "invalid_arguments"},
]
RECORDINGS = [OPENAI_STREAM, ANTHROPIC_STREAM, OPENAI_JSON]


def _engine(*faults: dict[str, Any]) -> Engine:
    rules = [Rule.model_validate({"name": f"r{i}", "fault": f}) for i, f in enumerate(faults)]
    return Engine(Scenario(name="live", seed=3, rules=rules), routes={})


def _planned(
    faults: tuple[dict[str, Any], ...], request: Request, response: Response
) -> tuple[Plan, Any]:
    engine = _engine(*faults)
    selection = engine.select(request, "api", 0.0)
    untimed = response.model_copy(update={"event_offsets_ms": None, "first_byte_ms": None})
    return engine.plan(selection, untimed), selection.entry


def _chunks(body: bytes, size: int) -> list[bytes]:
    return [body[i : i + size] for i in range(0, len(body), size)]


def _live(
    faults: tuple[dict[str, Any], ...],
    request: Request,
    response: Response,
    size: int = 37,
    *,
    gap_s: float = 0.0,
    to_the_end: bool = True,
) -> tuple[list[Timed], Any, LivePlan]:
    """``response`` fed to a live plan in ``size``-byte chunks, one every ``gap_s`` seconds
    from t=1000 s. ``to_the_end``: keep feeding after the plan is done (as a recording door
    does); else stop there, as a pass-through door does."""
    engine = _engine(*faults)
    selection = engine.select(request, "api", 0.0)
    live = engine.live(selection, response.head)
    now = 1000.0
    out = live.start(now)
    for chunk in _chunks(response.body, size):
        if live.done and not to_the_end:
            break
        now += gap_s
        out += live.feed(chunk, now)
    out += live.abandon(now) if live.done and not to_the_end else live.finish(now)
    return out, selection.entry, live


def _merged(actions: list[Action] | tuple[Action, ...]) -> list[Action]:
    """Actions with neighbouring SendBytes joined: a live body comes in chunks."""
    out: list[Action] = []
    for action in actions:
        if out and isinstance(action, SendBytes) and isinstance(out[-1], SendBytes):
            out[-1] = SendBytes(data=out[-1].data + action.data)
        elif not (isinstance(action, SendBytes) and not action.data):
            out.append(action)
    return out


def _facts(entry: Any) -> dict[str, Any]:
    names = ("status", "retry_after_ms", "format", "faults", "skipped", "error_code", "usage")
    names += ("tool_calls",)
    return {name: getattr(entry, name) for name in names}


@pytest.mark.parametrize("name", RECORDINGS)
@pytest.mark.parametrize("fault", STREAM_FAULTS + WHOLE_FAULTS, ids=lambda f: str(f))
@pytest.mark.parametrize("size", [1, 37, 100_000])
def test_live_and_planned_agree(fault: dict[str, Any], name: str, size: int) -> None:
    request, response = real(name)
    plan, planned_entry = _planned((fault,), request, response)
    timed, live_entry, _ = _live((fault,), request, response, size)
    assert _merged([t.action for t in timed]) == _merged(plan.actions)
    assert _facts(live_entry) == _facts(planned_entry)


@pytest.mark.parametrize(
    "faults",
    [
        ({"type": "latency", "latency_ms": 100}, {"type": "stall", "stall_ms": 300}),
        ({"type": "slow_first_token", "delay_ms": 300}, {"type": "reset", "after_events": 5}),
        ({"type": "tool_call", "kind": "invalid_arguments"}, {"type": "stall", "stall_ms": 300}),
        (
            {"type": "stall", "stall_ms": 300, "after_events": 1},
            {"type": "tool_call", "kind": "unknown_tool"},
        ),
    ],
    ids=str,
)
def test_chains_of_faults_agree(faults: tuple[dict[str, Any], ...]) -> None:
    request, response = real(TOOLS_STREAM)
    plan, planned_entry = _planned(faults, request, response)
    timed, live_entry, _ = _live(faults, request, response)
    assert _merged([t.action for t in timed]) == _merged(plan.actions)
    assert _facts(live_entry) == _facts(planned_entry)


def _due(timed: list[Timed]) -> list[tuple[float, str]]:
    return [(round(t.at_s - 1000.0, 6), t.action.kind) for t in timed]


def test_slow_first_token_shifts_the_stream_and_keeps_its_gaps() -> None:
    request, response = real(OPENAI_STREAM)
    events = len(Plan.from_response(response).events())
    timed, entry, _ = _live(
        ({"type": "slow_first_token", "delay_ms": 2000},), request, response, 100_000, gap_s=0.5
    )
    # one chunk: the head at 0, the whole body arriving at 0.5 s, due 2 s later
    assert _due(timed)[:3] == [(0.0, "head"), (0.5, "wait"), (2.5, "event")]
    assert {t.at_s for t in timed if isinstance(t.action, SendEvent)} == {1002.5}
    timed, _, _ = _live(
        ({"type": "slow_first_token", "delay_ms": 2000},), request, response, 1, gap_s=0.01
    )
    sends = [t.at_s for t in timed if isinstance(t.action, SendEvent)]
    assert len(sends) == events
    waits = [t for t in timed if isinstance(t.action, Wait)]
    assert len(waits) == 1 and waits[0].at_s < sends[0]
    assert sends[0] - waits[0].at_s == pytest.approx(2.0)
    # every later event the same time after the one before as it arrived upstream
    raw = b"".join(t.action.event.encode() for t in timed if isinstance(t.action, SendEvent))
    assert raw == response.body
    arrived = []
    size = 0
    for event in Plan.from_response(response).events():
        size += len(event.encode())
        arrived.append(1000.0 + size * 0.01)
    assert sends == pytest.approx([a + 2.0 for a in arrived])
    assert entry.faults[0].alterations[0].value == 2000


def test_stall_delays_what_follows_its_point_by_the_stall() -> None:
    request, response = real(ANTHROPIC_STREAM)
    timed, _, _ = _live(
        ({"type": "stall", "stall_ms": 700, "after_events": 2},), request, response, 1, gap_s=0.001
    )
    kinds = [t.action.kind for t in timed]
    at = kinds.index("wait")
    assert kinds[:at] == ["head", "event", "event"]
    before, wait, after = timed[at - 1], timed[at], timed[at + 1]
    assert wait.at_s == before.at_s
    arrived_after = after.at_s - 0.7  # when the third event's last byte came
    assert arrived_after > before.at_s
    assert after.at_s - before.at_s == pytest.approx(0.7 + (arrived_after - before.at_s))


def test_a_pass_through_door_leaves_the_upstream_at_the_cut() -> None:
    """The door stops reading at a reset: what never came is unknown (None), not zero."""
    request, response = real(ANTHROPIC_STREAM)
    fault = ({"type": "reset", "after_events": 3},)
    timed, entry, live = _live(fault, request, response, 50, to_the_end=False)
    assert live.done and isinstance(timed[-1].action, Reset)
    assert [t.action.kind for t in timed] == ["head", "event", "event", "event", "reset"]
    (alteration,) = entry.faults[0].alterations
    assert alteration.original == {"events": None, "bytes": None}
    assert alteration.value["events"] == 3
    _, whole_entry, _ = _live(fault, request, response, 50, to_the_end=True)
    assert whole_entry.faults[0].alterations[0].original["events"] > 0


def test_nothing_to_alter_is_a_skip_as_when_planned() -> None:
    request, response = real(OPENAI_JSON)
    faults = (
        {"type": "broken_sse", "kind": "missing_terminator"},
        {"type": "tool_call", "kind": "invalid_arguments"},
    )
    _, entry, _ = _live(faults, request, response)
    _, planned = _planned(faults, request, response)
    assert entry.faults == [] and entry.skipped == planned.skipped
    assert [s.reason for s in entry.skipped] == ["nothing to alter"] * 2


def test_a_live_error_gets_its_error_code_and_the_ledger_its_head_facts() -> None:
    request, _ = real(OPENAI_JSON)
    error = {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}
    body = json.dumps({"error": error}).encode()
    head = ResponseHead(
        status=429, headers=(("content-type", "application/json"), ("retry-after", "2"))
    )
    response = Response(head=head, body=body)
    fault = ({"type": "latency", "latency_ms": 10},)
    _, entry, _ = _live(fault, request, response, 10)
    _, planned = _planned(fault, request, response)
    assert entry.status == 429 and entry.retry_after_ms == 2000
    assert entry.error_code == planned.error_code == "insufficient_quota"


def test_head_first_and_nothing_after_an_ending() -> None:
    request, response = real(OPENAI_STREAM)
    timed, _, _ = _live(
        ({"type": "stall", "stall_ms": 5, "then": "close", "after_events": 1},), request, response
    )
    assert isinstance(timed[0].action, SendHead)
    assert [t.action.kind for t in timed][-2:] == ["wait", "close"]
    ats = [t.at_s for t in timed]
    assert ats == sorted(ats)


@pytest.mark.parametrize("fault", STREAM_FAULTS, ids=str)
def test_stream_faults_are_not_buffered(fault: dict[str, Any]) -> None:
    """Each event of a live stream passes the moment its last byte arrives (or the fault's
    own answer replaces the stream at once): only whole-body faults are held."""
    request, response = real(ANTHROPIC_STREAM)
    engine = _engine(fault)
    live = engine.live(engine.select(request, "api", 0.0), response.head)
    assert not any(isinstance(stage, WholeBody) for _, stage in live.stages)
    out = live.start(0.0)
    first = Plan.from_response(response).events()[0].encode()
    out += live.feed(first, 1.0)
    assert out, "nothing passed on after the head and the first event"


@pytest.mark.parametrize("fault", WHOLE_FAULTS[2:], ids=str)
def test_whole_body_faults_hold_the_answer_until_it_ends(fault: dict[str, Any]) -> None:
    request, response = real(ANTHROPIC_STREAM)
    engine = _engine(fault)
    live = engine.live(engine.select(request, "api", 0.0), response.head)
    assert [type(stage) for _, stage in live.stages] == [WholeBody]
    assert live.start(0.0) + live.feed(response.body, 1.0) == []
    assert live.finish(2.0)


def test_a_live_stream_shorter_than_at_event_is_not_broken() -> None:
    """Planned, an index past the end means the last event; live, the end is not known when
    the events pass, so nothing is broken, and the ledger says so."""
    request, response = real(OPENAI_STREAM)
    fault = ({"type": "broken_sse", "kind": "cut_mid_event", "at_event": 10_000},)
    timed, entry, _ = _live(fault, request, response)
    assert _merged([t.action for t in timed]) == _merged(
        Plan.from_response(response.model_copy(update={"event_offsets_ms": None})).actions
    )
    assert entry.faults == [] and [s.reason for s in entry.skipped] == ["nothing to alter"]
    _, planned = _planned(fault, request, response)
    assert planned.faults[0].alterations[0].path.startswith("response.events[")


ROUTES = {OPENAI_STREAM: "openai", ANTHROPIC_STREAM: "anthropic", OPENAI_JSON: "openai"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_every_fault_of_the_catalogue_agrees_live_and_planned(data: st.DataObject) -> None:
    """Any fault the registry holds, with parameters drawn by its own strategy (event indices
    inside the recordings: past the end is where live and planned may differ, see above)."""
    name = data.draw(st.sampled_from(RECORDINGS), label="recording")
    cls = data.draw(st.sampled_from(sorted(FAULTS.values(), key=lambda c: c.__name__)))
    fault = data.draw(cls.strategy(Limits(max_event=3), ROUTES[name]), label="fault")
    spec = (fault.model_dump(mode="json"),)
    request, response = real(name)
    plan, planned_entry = _planned(spec, request, response)
    size = data.draw(st.sampled_from([1, 53, 100_000]), label="chunk size")
    timed, live_entry, _ = _live(spec, request, response, size)
    assert _merged([t.action for t in timed]) == _merged(plan.actions)
    assert _facts(live_entry) == _facts(planned_entry)
