"""timeout: no response at all, then a dropped connection."""

from __future__ import annotations

import random

import pytest
from pydantic import ValidationError

from faultkit.engine import Engine
from faultkit.exchange import Request
from faultkit.faults.base import FaultContext
from faultkit.faults.timeout import Timeout
from faultkit.formats.detect import WireFormat
from faultkit.plan import Close, Plan, Reset, SendBytes, SendHead, Wait
from faultkit.scenario import Rule, Scenario

TOOL = Request(method="GET", url="http://tools.local/weather?city=Paris")


def ctx() -> FaultContext:
    return FaultContext(request=TOOL, format=WireFormat.other, rng=random.Random(0))


def test_plan_waits_then_resets_without_a_head() -> None:
    fault = Timeout(timeout_ms=30000)
    assert fault.needs_source is False
    plan, alterations = fault.apply(Plan(actions=()), ctx())
    assert plan.head is None
    assert len(plan.actions) == 2
    wait, reset = plan.actions
    assert isinstance(wait, Wait) and wait.ms == 30000 and wait.heartbeat_ms is None
    assert isinstance(reset, Reset)
    assert alterations[0].path == "response" and alterations[0].action == "removed"
    assert alterations[0].value == {"reset_after_ms": 30000}


def test_a_recorded_response_is_never_sent() -> None:
    recorded = Plan(
        actions=(SendHead(head={"status": 200}), SendBytes(data=b'{"temp": 21}'), Close())
    )
    plan, alterations = Timeout(timeout_ms=5).apply(recorded, ctx())
    assert plan.body_bytes() == b""
    assert plan.head is None
    assert alterations[0].original == 200


def test_engine_answers_without_a_recording() -> None:
    engine = Engine(Scenario(name="tool-timeout", rules=[Rule(fault=Timeout(timeout_ms=1500))]))
    _, plan = engine.handle(TOOL, "weather", now_ms=0)
    assert plan.total_wait_ms() == 1500
    assert isinstance(plan.actions[-1], Reset)


@pytest.mark.parametrize("params", [{"timeout_ms": 0}, {"timeout_ms": -10}, {}, {"ms": 5}])
def test_invalid_parameters_are_rejected(params: dict) -> None:
    with pytest.raises(ValidationError):
        Timeout(**params)
