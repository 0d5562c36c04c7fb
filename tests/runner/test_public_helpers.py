"""The runner's building blocks other commands reuse (``faultkit explore`` runs every generated
schedule through them): a cell run on its own is judged exactly as in a whole run, and every
target call is bounded."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tool_world import careless_app, write_tool_cassette

from faultkit.runner import (
    CallableTarget,
    Case,
    RunPlan,
    call_bounded,
    engine_factory,
    load_recordings,
    run,
    run_cell,
)
from faultkit.scenario import Scenario

DOWN = """
name: tool-down
rules:
  - match: {route: 'tools*'}
    fault: {type: http_error, status: 503}
"""


def _plan(tmp_path: Path, scenario: Scenario) -> RunPlan:
    return RunPlan(
        mode="target",
        targets=[CallableTarget("test:app", careless_app, "app")],
        scenarios=[(None, scenario)],
        cases=[Case(name="lamp", input={"item_id": "7"})],
        cassettes=[write_tool_cassette(tmp_path)],
    )


def test_a_cell_run_alone_is_judged_as_in_a_whole_run(tmp_path: Path) -> None:
    verdicts = {}
    for text in ("name: calm\n", DOWN):
        scenario = Scenario.from_yaml(text)
        plan = _plan(tmp_path, scenario)
        engines = engine_factory(plan, load_recordings(plan))
        alone = run_cell(plan, plan.targets[0], scenario, plan.cases[0], engines)
        (whole,) = run(plan).cells
        assert alone.verdict.kind == whole.verdict.kind
        assert [e.status for e in alone.ledger] == [e.status for e in whole.ledger]
        verdicts[scenario.name] = alone.verdict.kind
        if scenario.name == "calm":
            assert alone.result.value == {"item": "lamp", "price": 19.5}
    # The app reads the 503's error body as an item.
    assert verdicts == {"calm": "pass", "tool-down": "crash"}


def test_each_engine_starts_from_a_clean_slate(tmp_path: Path) -> None:
    scenario = Scenario.from_yaml(DOWN)
    plan = _plan(tmp_path, scenario)
    engines = engine_factory(plan)
    first = run_cell(plan, plan.targets[0], scenario, plan.cases[0], engines)
    second = run_cell(plan, plan.targets[0], scenario, plan.cases[0], engines)
    assert [e.id for e in first.ledger] == [e.id for e in second.ledger] == [1]


def test_a_target_call_is_bounded_sync_or_async() -> None:
    def clock() -> float:
        return time.monotonic() * 1000

    async def slow_async() -> str:
        await asyncio.sleep(5)
        return "late"

    start = time.monotonic()
    late = call_bounded(time.sleep, [5], {}, False, 0.2, clock, clock())
    cancelled = call_bounded(slow_async, [], {}, True, 0.2, clock, clock())
    assert late.timed_out and cancelled.timed_out
    assert time.monotonic() - start < 3
    quick = call_bounded(lambda x: x * 2, [21], {}, False, 2.0, clock, clock())
    assert (quick.value, quick.timed_out) == (42, False)
