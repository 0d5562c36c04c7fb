"""The judge: ledger + SUT result + contract (+ scenario expectation) -> verdict. Pure.

Every check runs on every judgement (:data:`CHECKS`, one per module of
``faultkit/oracle/checks/``), so a run that retried too often *and* leaked an invalid answer
reports both; the verdict is headed by the worst (see :mod:`faultkit.oracle.verdict`). With no
finding at all the verdict is ``pass``.

Bounds come from the contract and the scenario together, the stricter winning: the smaller
``deadline_ms`` and ``max_attempts``; fallback routes and models are the union of both.

``rules`` says which fault rules were in force (a scenario's, plus any added inline): given,
a run in which none of them applied a fault is ``not_exercised``, never ``pass``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from faultkit.ledger import Ledger, LedgerEntry
from faultkit.oracle.checks import CHECKS as CHECKS
from faultkit.oracle.checks import outcome
from faultkit.oracle.context import Context
from faultkit.oracle.contract import Contract
from faultkit.oracle.result import Result
from faultkit.oracle.verdict import Verdict, verdict_of
from faultkit.scenario import Expectation, Rule, Scenario

# Clock granularity allowed when comparing a measured gap with a required wait.
TOLERANCE_MS = 2.0


def judge(
    ledger_entries: Ledger | Iterable[LedgerEntry],
    result: Result,
    contract: Contract | None = None,
    expectation: Expectation | Scenario | None = None,
    *,
    case: str | None = None,
    tolerance_ms: float = TOLERANCE_MS,
    rules: Mapping[str, Rule] | None = None,
) -> Verdict:
    """Judge one run. ``ledger_entries`` are the entries this run produced (a :class:`Ledger`
    or its entries; when one engine serves several runs, pass only the run's slice, e.g.
    ``ledger.entries[before:]``, or reset the ledger between runs); ``expectation`` may be a
    whole scenario, whose name then labels the verdict. ``rules`` maps the ledger label of each
    rule in force to the rule (:func:`~faultkit.oracle.checks.exercised.engine_rules` of the
    engine, or ``scenario_rules``); None leaves whether a fault fired unjudged. The returned verdict
    has an empty ``repro``; the caller fills it in."""
    entries = ledger_entries.entries if isinstance(ledger_entries, Ledger) else list(ledger_entries)
    entries = sorted(entries, key=lambda e: e.id)
    contract = contract or Contract()
    scenario_name = None
    if isinstance(expectation, Scenario):
        scenario_name = expectation.name
        expectation = expectation.expect
    kind, reason = outcome.classify(result, contract)
    ctx = Context(
        entries=entries,
        result=result,
        contract=contract,
        outcome=kind,
        outcome_reason=reason,
        deadline_ms=_stricter(contract.deadline_ms, expectation and expectation.deadline_ms),
        max_attempts=_stricter(contract.max_attempts, expectation and expectation.max_attempts),
        fallback_routes=_union(
            contract.fallback_routes, expectation and expectation.fallback_routes
        ),
        fallback_models=_union(
            contract.fallback_models, expectation and expectation.fallback_models
        ),
        tolerance_ms=tolerance_ms,
        rules=dict(rules) if rules is not None else None,
    )
    findings = [finding for check in CHECKS for finding in check(ctx)]
    if not findings:
        findings.append(outcome.passed(ctx))
    return verdict_of(
        findings,
        allowed=list(expectation.outcomes) if expectation is not None else [],
        scenario=scenario_name,
        case=case,
        duration_ms=result.duration_ms,
    )


def _stricter(a: Any, b: Any) -> Any:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def _union(a: list[str], b: list[str] | None) -> list[str]:
    return list(dict.fromkeys([*a, *(b or [])]))
