"""Weaknesses ``faultkit explore`` found in the robust example app stay fixed.

Each ``regressions/*.yaml`` is the minimal schedule of one finding. It runs through the runner,
as ``faultkit run --app robust --scenarios <file>`` runs it: the robust app must come out
controlled (and an outcome the scenario allows); the naive app, which has none of the fixes,
gets the uncontrolled verdict the finding was about.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from faultkit.runner import Cell, RunPlan, RunReport, bundled, load_cases, run
from faultkit.runner.target import load_callable
from faultkit.scenario import Scenario

REGRESSIONS = sorted((Path(__file__).parent / "regressions").glob("*.yaml"))
# What the naive app gets on each: it papers over a failed tool call, passes the model's
# words on unchecked, and folds stream chunks without looking at their shape. (It returns no
# trace: where its own behaviour is fine, as with the SDK's retries, that is its verdict.)
NAIVE = {
    "drift-then-tool-step": "untraceable",
    "provider-429-body-cut": "untraceable",
    "stream-chunk-retyped": "crash",
    "tool-500-retry-after": "silent_tool_failure",
    "tool-total-dropped": "unknown_as_known",
}


@pytest.fixture(scope="module")
def report() -> RunReport:
    cases = load_cases(bundled.cases_path())
    plan = RunPlan(
        mode="target",
        targets=[load_callable(ref, name) for name, ref in bundled.APPS.items()],
        scenarios=[(path, Scenario.load(path)) for path in REGRESSIONS],
        cases=cases.cases,
        contract=cases.contract,
        cassettes=cases.cassette_paths(),
        match_on=tuple(cases.match_on),
        ignore_body_fields=tuple(cases.ignore_body_fields),
    )
    return run(plan)


def _cell(report: RunReport, target: str, scenario: str) -> Cell:
    (cell,) = [c for c in report.cells if (c.target, c.scenario) == (target, scenario)]
    return cell


def test_every_regression_has_a_known_naive_verdict() -> None:
    assert {Scenario.load(p).name for p in REGRESSIONS} == set(NAIVE)


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.stem)
def test_the_robust_app_is_controlled(report: RunReport, path: Path) -> None:
    cell = _cell(report, "robust", Scenario.load(path).name)
    assert cell.verdict.ok, cell.verdict.explain()


@pytest.mark.parametrize("path", REGRESSIONS, ids=lambda p: p.stem)
def test_the_naive_app_still_has_the_weakness(report: RunReport, path: Path) -> None:
    name = Scenario.load(path).name
    assert _cell(report, "naive", name).verdict.kind == NAIVE[name]


def test_the_robust_app_waits_the_retry_after_the_tool_asked_for(report: RunReport) -> None:
    cell = _cell(report, "robust", "tool-500-retry-after")
    orders = [e for e in cell.ledger if e.route == "orders.internal"]
    assert [e.status for e in orders] == [500, 200]
    assert orders[1].arrival_ms - orders[0].end_ms >= 1000
    assert cell.verdict.kind == "retried"


def test_the_robust_app_waits_a_retry_after_whose_error_body_was_cut(report: RunReport) -> None:
    cell = _cell(report, "robust", "provider-429-body-cut")
    first, second = cell.ledger[:2]
    assert (first.status, first.ending, second.status) == (429, "reset", 200)
    assert second.arrival_ms - first.end_ms >= 1000
    assert cell.verdict.kind == "retried"


def test_the_robust_app_retries_a_stream_whose_chunks_drifted(report: RunReport) -> None:
    cell = _cell(report, "robust", "stream-chunk-retyped")
    assert cell.verdict.kind == "retried"
    assert cell.result.value["status"] == "shipped"


def test_the_robust_app_never_states_a_total_the_tool_left_out(report: RunReport) -> None:
    cell = _cell(report, "robust", "tool-total-dropped")
    answer = cell.result.value
    assert cell.verdict.kind == "pass"
    assert "138" not in answer["reply"]
    assert answer["reply"].endswith("the total are unknown right now.")
    assert (answer["status"], answer["eta"]) == ("shipped", "2026-03-14")
