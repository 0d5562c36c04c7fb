"""The runner's building blocks other commands reuse (``faultkit explore`` runs every generated
schedule through them): a cell run on its own is judged exactly as in a whole run, and every
target call is bounded."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

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

CASSETTE = """
interactions:
- request:
    body: null
    headers: {accept: ['*/*']}
    method: GET
    uri: http://tools.internal/items/7
  response:
    body: {string: '{"name":"lamp","price":19.5}'}
    headers: {content-type: [application/json], content-length: ['28']}
    status: {code: 200, message: OK}
version: 1
"""
DOWN = """
name: tool-down
rules:
  - match: {route: 'tools*'}
    fault: {type: http_error, status: 503}
"""


def app(item_id: str, *, http_client_factory=httpx.Client) -> dict:
    with http_client_factory() as client:
        data = client.get(f"http://tools.internal/items/{item_id}").json()
    return {"item": data["name"], "price": data["price"]}


def _plan(tmp_path: Path, scenario: Scenario) -> RunPlan:
    cassette = tmp_path / "tools.yaml"
    cassette.write_text(CASSETTE)
    return RunPlan(
        mode="target",
        targets=[CallableTarget("test:app", app, "app")],
        scenarios=[(None, scenario)],
        cases=[Case(name="lamp", input={"item_id": "7"})],
        cassettes=[cassette],
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
