"""Honest accounting of a load test: what stops it, what it warns about, what the proxy costs.

Pure functions over measured results; no I/O. The rules:

* a baseline (or ``--no-proxy``'s direct run) in which the target never answered, or more than
  ``max_baseline_errors`` of requests failed with no fault injected, stops the load test
  (:class:`~faultkit.load.results.LoadRunError`, exit 3): every later figure would compare
  faults against a broken system, and a latency gate must never pass on a dead target;
* a negative proxy "overhead" is measurement noise and is labelled so;
* everything dropped, late, uncorrected or not exercised is a warning, never silent.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

from pydantic import BaseModel

from faultkit.scenario import Scenario

from .results import LoadRunError, PhaseResult

DEFAULT_MAX_BASELINE_ERRORS = 0.05


class Overhead(BaseModel):
    """What the proxy adds per request: baseline minus direct service time, in ms."""

    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    note: str = ""


def check_baseline(result: PhaseResult, max_errors: float) -> None:
    """Stop (LoadRunError) when the fault-free run shows a dead or broken target."""
    what = "baseline" if result.kind == "baseline" else f"{result.phase} run"
    if result.requests == 0:
        raise LoadRunError(f"{what}: no request was sent; nothing can be measured")
    if result.answered == 0:
        top = _top_error(result.errors)
        raise LoadRunError(
            f"{what}: the target never answered ({result.requests} requests, {top}); "
            "a dead target is not measured"
        )
    if result.error_rate > max_errors:
        raise LoadRunError(
            f"{what}: {result.error_rate * 100:.1f}% of {result.requests} requests failed with "
            f"no fault injected (threshold {max_errors * 100:g}%; mostly "
            f"{_top_error(result.errors)}); fix the target or raise --max-baseline-errors"
        )


def _top_error(errors: Mapping[str, int]) -> str:
    if not errors:
        return "no error recorded"
    label, count = max(errors.items(), key=lambda kv: kv[1])
    return f"{label} x {count}"


def overhead(
    direct: PhaseResult | None, baseline: PhaseResult | None, mode: str, faults_at: str
) -> Overhead:
    if mode == "replay" and faults_at == "front":
        return Overhead(
            note="the proxy answers from cassettes: all baseline latency is the proxy's own"
        )
    if faults_at == "upstream":
        return Overhead(
            note="not measured: the proxy sits between the app and its upstreams, and the app "
            "has no path around it to compare with"
        )
    if direct is None or baseline is None:
        return Overhead(note="not measured (no direct run)")

    def diff(p: float) -> float | None:
        a, b = baseline.raw.percentile(p), direct.raw.percentile(p)
        return None if a is None or b is None else round(a - b, 3)

    figures = {"p50_ms": diff(50), "p95_ms": diff(95), "p99_ms": diff(99)}
    note = "baseline (through the proxy, no faults) minus direct, service time"
    negative = [k.removesuffix("_ms") for k, v in figures.items() if v is not None and v < 0]
    if negative:
        note += (
            f"; negative at {', '.join(negative)}: below what two runs can tell apart "
            "(noise), read as about 0"
        )
    return Overhead(**figures, note=note)


def route_warnings(
    scenarios: Iterable[Scenario], routes: list[str], aliases: Mapping[str, object] | None = None
) -> list[str]:
    """A rule whose ``match.route`` names no door of this proxy can never fire: say so."""
    aliases = aliases or {}
    warnings = []
    for scenario in scenarios:
        for i, rule in enumerate(scenario.rules):
            pattern = rule.match.route
            if pattern is None or pattern in aliases:
                continue
            if not any(fnmatch.fnmatchcase(route, pattern) for route in routes):
                name = rule.name or f"rule {i + 1}"
                doors = ", ".join(repr(r) for r in routes)
                warnings.append(
                    f"scenario {scenario.name}: {name} matches route {pattern!r}, not a door of "
                    f"this proxy ({doors}): it cannot fire"
                )
    return warnings


def run_warnings(results: list[PhaseResult], rate: float, open_loop: bool) -> list[str]:
    warnings = []
    for r in results:
        c = r.counts
        if not r.complete:
            warnings.append(f"{r.phase}: incomplete result (a worker's final report was lost)")
        if c.get("unfinished"):
            warnings.append(
                f"{r.phase}: {c['unfinished']} requests were still in flight when the run "
                "ended; they count as failed (timeouts), with the time they had waited"
            )
        if c.get("late"):
            warnings.append(
                f"{r.phase}: {c['late']} arrivals waited for a free in-flight slot (the load "
                "generator's cap, not the target); their wait is counted in corrected latency"
            )
        if c.get("uncorrected"):
            warnings.append(
                f"{r.phase}: {c['uncorrected']} closed-loop requests had no known pace and are "
                "not corrected for coordinated omission (use constant_pacing or "
                "--expected-interval-ms)"
            )
        if r.kind == "scenario" and r.faults_applied == 0:
            warnings.append(f"{r.phase}: the proxy applied no fault in this run")
        if r.kind == "baseline" and r.failures:
            warnings.append(f"baseline: {r.failures} requests failed with no fault injected")
        if r.answers is not None and r.answers.unjudged:
            warnings.append(
                f"{r.phase}: {r.answers.unjudged} answers were not judged (too many distinct "
                "answers, or a body too large to keep)"
            )
        if open_loop and r.requests and r.rps < 0.8 * rate and r.kind != "scenario":
            warnings.append(
                f"{r.phase}: {r.rps:.1f} req/s completed of {rate:g} scheduled; the target or "
                "the load generator could not keep up"
            )
    return warnings
