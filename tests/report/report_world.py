"""A small real run to report on: one app, two scenarios, two cases, a JSON tool.

The app reads an item through the injected client factory and crashes when the tool fails, so
the report holds controlled and uncontrolled cells, an exercised fault, a fault that fired but
had nothing to act on, and a rule that never fired.
"""

from __future__ import annotations

from pathlib import Path

from tool_world import careless_app as app
from tool_world import write_tool_cassette

from faultkit.runner.cases import Case
from faultkit.runner.model import RunReport
from faultkit.runner.run import RunPlan, run
from faultkit.runner.target import CallableTarget
from faultkit.scenario import Scenario

CALM = """
name: calm
description: Quiet <b>day</b> & nothing breaks.
rules:
  - match: {route: 'tools*'}
    fault: {type: latency, latency_ms: 20}
  - match: {route: 'tools*'}
    fault: {type: broken_sse, kind: missing_terminator}
"""
DOWN = """
name: tool-down
seed: 5
rules:
  - match: {route: 'tools*'}
    fault: {type: http_error, status: 503}
  - name: never
    match: {route: anthropic}
    fault: {type: http_error, status: 529}
expect: {deadline_ms: 2000}
"""


def sample_report(tmp: Path) -> RunReport:
    cassette = write_tool_cassette(tmp)
    plan = RunPlan(
        mode="target",
        targets=[CallableTarget("report_world:app", app)],
        scenarios=[(None, Scenario.from_yaml(CALM)), (tmp / "down.yaml", Scenario.from_yaml(DOWN))],
        cases=[Case(name="a", input={"item_id": "7"}), Case(name="b", input={"item_id": "7"})],
        cassettes=[cassette],
        repro=lambda target, scenario, case, seed: (
            f"faultkit run {target} --scenario {scenario} --case {case} --seed {seed}"
        ),
    )
    return run(plan)
