"""Polishing a finding: rules dropped and runs of calls narrowed while the same kind of failure
remains, with a trial that is a pure function of the plan (no target needed)."""

from __future__ import annotations

from faultkit.explore.search import polish_plan
from faultkit.oracle.verdict import Finding, Verdict, verdict_of
from faultkit.scenario import Scenario
from faultkit.strategies import summarize

PLAN = Scenario.from_yaml(
    """
name: found
seed: 3
rules:
  - name: slow
    match: {route: openai}
    when: {nth: 1}
    fault: {type: latency, latency_ms: 5}
  - name: errors
    match: {route: openai}
    when: {calls: "1-3"}
    fault: {type: http_error, status: 503}
  - name: tool
    match: {route: orders}
    when: {nth: 1}
    fault: {type: timeout, timeout_ms: 5}
"""
)


def _verdict(kind: str) -> Verdict:
    return verdict_of([Finding(kind=kind, summary=kind)])


def crashes_when_call_2_of_openai_errs(plan: Scenario) -> Verdict:
    """The stand-in target: it crashes exactly when call 2 of openai gets an HTTP error."""
    for rule in plan.rules:
        span = rule.when.call_range() or (rule.when.nth, rule.when.nth)
        hits_2 = span[0] is not None and span[0] <= 2 <= span[1]
        if rule.match.route == "openai" and rule.fault.type == "http_error" and hits_2:
            return _verdict("crash")
    return _verdict("pass")


def test_polishing_keeps_only_what_the_failure_needs() -> None:
    plan, verdict = polish_plan(crashes_when_call_2_of_openai_errs, PLAN, "crash")
    assert verdict is not None and verdict.kind == "crash"
    assert summarize(plan) == "call 2 of openai → 503"
    assert [r.name for r in plan.rules] == ["openai-call2-http_error"]
    assert plan.seed == 3
    assert Scenario.from_yaml(plan.to_yaml()) == plan


def test_a_finding_that_does_not_come_back_is_left_as_it_was() -> None:
    plan, verdict = polish_plan(lambda p: _verdict("pass"), PLAN, "crash")
    assert verdict is None
    assert plan == PLAN
