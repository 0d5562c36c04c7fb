"""stall: silence mid-stream, then the rest, a clean end, or a reset."""

from __future__ import annotations

import random

import pytest
from _fault_samples import real, real_setup
from pydantic import ValidationError

from faultkit.exchange import Request
from faultkit.faults.base import FaultContext
from faultkit.faults.stall import Stall
from faultkit.formats.detect import detect_format
from faultkit.plan import Close, Plan, Reset, SendBytes, SendEvent, SendHead, Wait

OPENAI_STREAM = "pydantic-ai__test_run_stream_sync_streams_real_model.yaml"
ANTHROPIC_STREAM = "openllmetry__test_anthropic_tools_streaming_legacy.yaml"
OPENAI_JSON = "pydantic-ai__test_request_simple_usage.yaml"


def kinds(plan: Plan) -> list[str]:
    return [a.kind for a in plan.actions]


def test_stall_after_events_then_continue_keeps_every_event() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    new, alterations = Stall(stall_ms=5000, after_events=2, heartbeat_ms=1000).apply(plan, ctx)
    assert kinds(new)[:4] == ["head", "event", "event", "wait"]
    wait = new.actions[3]
    assert isinstance(wait, Wait) and wait.ms == 5000 and wait.heartbeat_ms == 1000
    assert new.events() == plan.events()
    assert new.body_bytes() == plan.body_bytes()
    assert isinstance(new.actions[-1], Close)
    assert [(a.path, a.action, a.value) for a in alterations] == [
        ("response.events[2:]", "delayed", 5000)
    ]


@pytest.mark.parametrize(("then", "ending"), [("close", Close), ("reset", Reset)])
def test_stall_then_close_or_reset_drops_the_rest(then: str, ending: type) -> None:
    plan, ctx = real_setup(ANTHROPIC_STREAM)
    events = plan.events()
    new, alterations = Stall(stall_ms=30000, after_events=5, then=then).apply(plan, ctx)
    assert new.events() == events[:5]
    assert isinstance(new.actions[-2], Wait) and new.actions[-2].ms == 30000
    assert isinstance(new.actions[-1], ending)
    removed = alterations[1]
    assert removed.action == "removed" and removed.value == then
    rest = b"".join(e.encode() for e in events[5:])
    assert removed.original == {"events": len(events) - 5, "bytes": len(rest)}


def test_stall_at_zero_events_is_right_after_the_head() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    new, _ = Stall(stall_ms=100, after_events=0).apply(plan, ctx)
    assert kinds(new)[:3] == ["head", "wait", "event"]


def test_stall_past_the_last_event_stalls_before_the_end() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    new, alterations = Stall(stall_ms=100, after_events=999).apply(plan, ctx)
    assert kinds(new)[-2:] == ["wait", "close"]
    assert alterations[0].path == f"response.events[{len(plan.events())}:]"


def test_recorded_gaps_stay_with_the_events_they_precede() -> None:
    request, response = real(OPENAI_STREAM)
    timed = response.model_copy(update={"event_offsets_ms": tuple(10.0 * i for i in range(1, 10))})
    plan = Plan.from_response(timed)
    ctx = FaultContext(request, detect_format(request, timed.content_type), random.Random(0))
    new, _ = Stall(stall_ms=500, after_events=1).apply(plan, ctx)
    waits = [a for a in new.actions if isinstance(a, Wait)]
    assert [w.reason for w in waits].count("stall") == 1
    assert new.total_wait_ms() == pytest.approx(plan.total_wait_ms() + 500)
    stall_at = next(
        i for i, a in enumerate(new.actions) if isinstance(a, Wait) and a.reason == "stall"
    )
    assert isinstance(new.actions[stall_at - 1], SendEvent)
    assert isinstance(new.actions[stall_at + 1], Wait)  # the recorded gap before event 2


def test_json_body_is_split_at_half_without_heartbeats() -> None:
    plan, ctx = real_setup(OPENAI_JSON)
    body = plan.body_bytes()
    new, alterations = Stall(stall_ms=2000, heartbeat_ms=500).apply(plan, ctx)
    assert kinds(new) == ["head", "bytes", "wait", "bytes", "close"]
    first, wait, second = new.actions[1], new.actions[2], new.actions[3]
    assert isinstance(first, SendBytes) and isinstance(second, SendBytes)
    assert len(first.data) == len(body) // 2
    assert first.data + second.data == body
    assert isinstance(wait, Wait) and wait.heartbeat_ms is None  # a comment would corrupt JSON
    assert alterations[0].path == f"response.body[{len(body) // 2}:]"


def test_after_bytes_inside_an_event_suppresses_heartbeats() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    new, _ = Stall(stall_ms=100, after_bytes=50, heartbeat_ms=10).apply(plan, ctx)
    assert kinds(new)[:4] == ["head", "bytes", "wait", "bytes"]
    assert new.actions[2].heartbeat_ms is None  # type: ignore[union-attr]
    assert new.body_bytes() == plan.body_bytes()


def test_no_head_means_nothing_to_stall() -> None:
    plan = Plan(actions=(Reset(),))
    ctx = FaultContext(
        Request(method="GET", url="http://x/"),
        detect_format(Request(method="GET", url="http://x/")),
        random.Random(0),
    )
    assert Stall(stall_ms=10).apply(plan, ctx) == (plan, [])


def test_head_is_sent_before_the_stall() -> None:
    plan, ctx = real_setup(OPENAI_STREAM)
    new, _ = Stall(stall_ms=10).apply(plan, ctx)
    assert isinstance(new.actions[0], SendHead)


@pytest.mark.parametrize(
    "params",
    [
        {"stall_ms": 0},
        {"stall_ms": -1},
        {"stall_ms": 10, "then": "explode"},
        {"stall_ms": 10, "after_events": -1},
        {"stall_ms": 10, "heartbeat_ms": 0},
        {"after_events": 1},
    ],
)
def test_invalid_parameters_are_rejected(params: dict) -> None:
    with pytest.raises(ValidationError):
        Stall(**params)
