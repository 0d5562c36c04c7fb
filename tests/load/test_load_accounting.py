"""Honest accounting, without a process: what stops a load test, how answers are judged, what
a gate does when there is nothing to measure, and what a negative overhead is called."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from faultkit.load import histogram as hist
from faultkit.load.accounting import check_baseline, overhead
from faultkit.load.answers import judge_answers, wants_bodies
from faultkit.load.gates import evaluate, parse_gate
from faultkit.load.results import LoadRunError, PhaseResult
from faultkit.oracle.contract import Contract


class Answer(BaseModel):
    city: str
    temp_c: float


class ErrorBody(BaseModel):
    error: str


CONTRACT = Contract(output_model=Answer, error_model=ErrorBody, deadline_ms=1000)


def _key(**fields: object) -> str:
    return json.dumps(fields, sort_keys=True)


def _run(requests: int, failures: int, answered: int, **fields: object) -> PhaseResult:
    return PhaseResult(
        phase="baseline",
        kind="baseline",
        host="-",
        requests=requests,
        failures=failures,
        error_rate=failures / requests if requests else 0.0,
        counts={"requests": requests, "failures": failures, "answered": answered},
        **fields,  # type: ignore[arg-type]
    )


def test_answers_are_judged_by_the_contract_of_faultkit_run() -> None:
    ok = json.dumps({"city": "Lisbon", "temp_c": 21.5})
    keys = {
        _key(status=200, body=ok): 90,
        _key(status=200, body=json.dumps({"town": "Lisbon", "temperature": "21.5"})): 3,
        _key(status=503, body=json.dumps({"error": "rate limited"})): 2,
        _key(status=500, body="Internal Server Error"): 1,
        _key(status=0, error="ConnectionResetError"): 1,
        _key(status=0, error="timeout (in flight at end)", timed_out=True): 1,
        _key(status=200, body=ok, late=True): 2,
    }
    split = judge_answers(keys, CONTRACT)
    assert split.verdicts == {
        "pass": 90,
        "invalid_output_leaked": 3,
        "controlled_error": 2,
        "crash": 2,
        "hang": 3,
    }
    assert (split.controlled, split.uncontrolled, split.total) == (92, 8, 100)
    assert split.share("uncontrolled") == pytest.approx(0.08)
    assert "fails Answer" in split.examples["invalid_output_leaked"]


def test_the_default_contract_needs_only_statuses() -> None:
    assert not wants_bodies(Contract()) and wants_bodies(CONTRACT)
    split = judge_answers(
        {_key(status=200): 8, _key(status=429): 1, _key(status=502): 1}, Contract()
    )
    assert split.verdicts == {"pass": 8, "controlled_error": 1, "crash": 1}


def test_unjudged_answers_are_neither_controlled_nor_uncontrolled() -> None:
    split = judge_answers({_key(status=200, too_large=True): 2}, CONTRACT, unjudged=3)
    assert (split.total, split.unjudged, split.judged) == (5, 5, 0)
    assert split.share("uncontrolled") is None


def test_a_dead_or_broken_baseline_stops_the_test() -> None:
    with pytest.raises(LoadRunError, match=r"never answered .*ConnectionRefusedError x 40"):
        check_baseline(_run(40, 40, 0, errors={"ConnectionRefusedError": 40}), 0.05)
    with pytest.raises(LoadRunError, match=r"10.0% of 100 requests failed .*threshold 5%"):
        check_baseline(_run(100, 10, 100, errors={"HTTP 500": 10}), 0.05)
    check_baseline(_run(100, 10, 100), 0.10)  # within the threshold given
    with pytest.raises(LoadRunError, match="no request was sent"):
        check_baseline(_run(0, 0, 0), 0.05)


def test_gates_on_nothing_measured_are_broken_not_passed() -> None:
    quick = hist.new_histogram()
    hist.record(quick, 1.0)
    dead = _run(10, 10, 0, histograms={"corrected": hist.encode(quick), "raw": hist.encode(quick)})
    outcomes = evaluate([parse_gate("p99<1s"), parse_gate("uncontrolled<1%")], [dead])
    assert [(o.ok, o.broken) for o in outcomes] == [(False, True), (False, True)]
    assert outcomes[0].line().startswith("gate BROKEN p99<1s")


def test_a_negative_proxy_overhead_is_labelled_noise() -> None:
    def run(p50_ms: float) -> PhaseResult:
        h = hist.new_histogram()
        for _ in range(100):
            hist.record(h, p50_ms)
        return _run(100, 0, 100, raw=hist.summarize(h))

    figures = overhead(run(1.0), run(0.9), "passthrough", "front")
    assert figures.p50_ms is not None and figures.p50_ms < 0
    assert "noise" in figures.note
    assert "noise" not in overhead(run(1.0), run(1.2), "passthrough", "front").note
    assert "not measured" in overhead(None, run(1.0), "replay", "upstream").note
