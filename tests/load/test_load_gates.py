"""SLO gates: parsed from the command line, evaluated per run, named when they fail."""

from __future__ import annotations

import pytest

from faultkit.load import histogram as hist
from faultkit.load.gates import GateError, evaluate, parse_gate
from faultkit.load.results import PhaseResult


def _result(
    phase: str = "slow", latencies_ms: tuple[float, ...] = (), failures: int = 0, rps: float = 50.0
) -> PhaseResult:
    corrected = hist.new_histogram()
    raw = hist.new_histogram()
    for value in latencies_ms:
        hist.record(corrected, value)
        hist.record(raw, value / 10)
    n = len(latencies_ms)
    return PhaseResult(
        phase=phase,
        kind="scenario",
        host="http://127.0.0.1:1",
        requests=n,
        failures=failures,
        error_rate=failures / n if n else 0.0,
        rps=rps,
        corrected=hist.summarize(corrected),
        raw=hist.summarize(raw),
        histograms={"corrected": hist.encode(corrected), "raw": hist.encode(raw)},
    )


@pytest.mark.parametrize(
    ("text", "metric", "op", "threshold", "view"),
    [
        ("p99<2500ms", "p99", "<", 2500.0, "corrected"),
        ("p95<=800ms", "p95", "<=", 800.0, "corrected"),
        ("p99.9 < 3s", "p99.9", "<", 3000.0, "corrected"),
        ("raw.p50<500us", "p50", "<", 0.5, "raw"),
        ("max<2000", "max", "<", 2000.0, "corrected"),
        ("error_rate<1%", "error_rate", "<", 0.01, "corrected"),
        ("error_rate<=0.05", "error_rate", "<=", 0.05, "corrected"),
        ("rps>100", "rps", ">", 100.0, "corrected"),
        ("rps>=99.5/s", "rps", ">=", 99.5, "corrected"),
    ],
)
def test_parse(text: str, metric: str, op: str, threshold: float, view: str) -> None:
    gate = parse_gate(text)
    assert (gate.metric, gate.op, gate.view) == (metric, op, view)
    assert gate.threshold == pytest.approx(threshold)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("p99 under 2s", "expected METRIC OP VALUE"),
        ("latency<3s", "expected METRIC OP VALUE"),
        ("p99<3 parsecs", "unknown unit"),
        ("p99<3h", "unknown unit"),
        ("error_rate<5", "did you mean 5%"),
        ("error_rate<5ms", "takes % or a fraction"),
        ("rps>5ms", "plain number"),
        ("p100<5ms", "between 0 and 100"),
    ],
)
def test_parse_errors_say_what_is_wrong(text: str, hint: str) -> None:
    with pytest.raises(GateError, match=hint) as info:
        parse_gate(text)
    assert text in str(info.value)


def test_latency_gates_use_corrected_unless_raw_is_asked_for() -> None:
    result = _result(latencies_ms=tuple(float(i) for i in range(1, 1001)))  # raw = /10
    corrected, raw = evaluate([parse_gate("p99<900ms"), parse_gate("raw.p99<900ms")], [result])
    assert not corrected.ok and corrected.value == pytest.approx(990, rel=0.002)
    assert raw.ok and raw.value == pytest.approx(99, rel=0.002)


def test_any_percentile_is_read_from_the_histogram() -> None:
    result = _result(latencies_ms=tuple(float(i) for i in range(1, 1001)))
    (outcome,) = evaluate([parse_gate("p75<800ms")], [result])
    assert outcome.ok and outcome.value == pytest.approx(750, rel=0.002)


def test_a_failing_gate_names_itself_its_run_and_the_measured_value() -> None:
    results = [_result("slow", (3000.0,) * 10, failures=2), _result("fast", (10.0,) * 10)]
    outcomes = evaluate([parse_gate("p99<2500ms"), parse_gate("error_rate<1%")], results)
    failed = [o for o in outcomes if not o.ok]
    assert [(o.gate.text, o.phase) for o in failed] == [
        ("p99<2500ms", "slow"),
        ("error_rate<1%", "slow"),
    ]
    assert failed[0].line().startswith("gate FAIL p99<2500ms")
    assert "[slow] p99 (corrected) = 3000." in failed[0].line()
    assert "error_rate = 20%" in failed[1].line()


def test_an_empty_run_fails_every_gate() -> None:
    outcomes = evaluate([parse_gate("p99<1s"), parse_gate("error_rate<1%")], [_result()])
    assert [o.ok for o in outcomes] == [False, False]
    assert "no requests" in outcomes[0].line()


def test_rps_gate() -> None:
    (outcome,) = evaluate([parse_gate("rps>100")], [_result(latencies_ms=(1.0,), rps=80.0)])
    assert not outcome.ok and outcome.value == 80.0
