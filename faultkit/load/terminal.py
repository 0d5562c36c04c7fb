"""The terminal report of ``faultkit load``: latency tables, errors, injected faults, answers.

Plain text on a stream, read from the :class:`~faultkit.load.runner.LoadReport`; the same
facts go to ``load.json``/``load.html`` (:mod:`.report`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from faultkit.report.rich_view import show
from faultkit.report.table import Column, Table

if TYPE_CHECKING:
    from .results import PhaseResult
    from .runner import LoadReport


def ms_text(value: float | None) -> str:
    """A latency in ms with one decimal, ``-`` when there is none (the tables here and in
    ``load.html``)."""
    return "-" if value is None else f"{value:.1f}"


HEADER = ("run", "requests", "err%", "rps", "p50", "p95", "p99", "p99.9", "max")
# Fixed minimum widths keep the columns of the corrected and the raw table aligned.
WIDTHS = (8, 8, 6, 7, 8, 8, 8, 8, 8)
COLUMNS = [
    Column(name, numeric=i > 0, min_width=width)
    for i, (name, width) in enumerate(zip(HEADER, WIDTHS, strict=True))
]


def latency_table(results: list[PhaseResult], view: str) -> Table:
    """One row per run: requests, error rate, throughput and the ``view``'s (``corrected``
    or ``raw``) latency percentiles."""
    rows = []
    for r in results:
        s = r.corrected if view == "corrected" else r.raw
        rows.append(
            [r.phase, str(r.requests), f"{r.error_rate * 100:.2f}", f"{r.rps:.1f}"]
            + [ms_text(v) for v in (s.p50_ms, s.p95_ms, s.p99_ms, s.p99_9_ms, s.max_ms)]
        )
    return Table(COLUMNS, rows, kind="latency", empty="No runs.")


def table(results: list[PhaseResult], view: str, out: TextIO) -> None:
    show(out, latency_table(results, view), indent="  ")


def print_report(report: LoadReport, out: TextIO) -> None:
    results = report.results
    print("", file=out)
    print("latency corrected for coordinated omission (ms) - gates use these:", file=out)
    table(results, "corrected", out)
    print("raw service time (ms), as a closed-loop tool measures it:", file=out)
    table(results, "raw", out)
    locust = [(r.phase, r.locust) for r in results if r.locust is not None]
    if locust:
        cells = "  ".join(
            f"{phase} p99 {ms_text(figures.p99_ms)} ms ({figures.requests} req)"
            for phase, figures in locust
        )
        print(f"Locust's own figures (2-digit buckets): {cells}", file=out)
    corrections = sorted({r.correction for r in results})
    print(f"correction: {'; '.join(corrections)}", file=out)
    o = report.overhead
    if o.p50_ms is not None:
        print(
            f"proxy overhead: p50 {o.p50_ms:+.2f} ms  p95 {ms_text(o.p95_ms)} ms  "
            f"p99 {ms_text(o.p99_ms)} ms  ({o.note})",
            file=out,
        )
    else:
        print(f"proxy overhead: {o.note}", file=out)
    errors(results, out)
    injected(results, out)
    answers(results, report.contract, out)
    for r in results:
        if len(r.workers) > 1:
            per = ", ".join(str(n) for n in r.workers.values())
            print(f"workers: {r.phase}: {per} requests (sum {sum(r.workers.values())})", file=out)
    if report.app_stderr:
        print(f"the app's stderr: {report.app_stderr}", file=out)
    for warning in report.warnings:
        print(f"warning: {warning}", file=out)
    for outcome in report.gates:
        print(outcome.line(), file=out)
    print(report.headline, file=out)


def errors(results: list[PhaseResult], out: TextIO) -> None:
    """Failed requests per run, by what they were."""
    failing = [r for r in results if r.errors]
    if not failing:
        print("errors: none", file=out)
        return
    print("errors (status or exception x count):", file=out)
    for r in failing:
        cells = ", ".join(f"{label} x {n}" for label, n in r.errors.items())
        print(f"  {r.phase}: {cells}", file=out)


def injected(results: list[PhaseResult], out: TextIO) -> None:
    """What the proxy injected in each scenario run, from its ledger."""
    for r in results:
        if r.kind != "scenario" or r.faults_applied is None:
            continue
        what = ", ".join(f"{i.fault} on {i.upstream} x {i.count}" for i in r.injected)
        print(
            f"injected: {r.phase}: {what or 'nothing'} ({r.faults_applied} faulted exchanges; "
            f"{r.requests} requests to the target)",
            file=out,
        )


def answers(results: list[PhaseResult], contract: str, out: TextIO) -> None:
    """Controlled vs uncontrolled answers per run, judged by the contract."""
    judged = [r for r in results if r.answers is not None and r.answers.total]
    if not judged:
        return
    print(f"answers judged by the contract ({contract}):", file=out)
    for r in judged:
        a = r.answers
        assert a is not None
        share = a.share("controlled")
        pct = "-" if share is None else f"{share * 100:.1f}%"
        kinds = ", ".join(f"{k} {n}" for k, n in a.verdicts.items())
        unjudged = f", {a.unjudged} unjudged" if a.unjudged else ""
        print(
            f"  {r.phase}: controlled {pct} ({a.controlled} of {a.judged}), uncontrolled "
            f"{a.uncontrolled}{unjudged}: {kinds}",
            file=out,
        )
        for kind, why in a.examples.items():
            if kind not in ("pass",) and kind in a.verdicts:
                print(f"    {kind}: {why}", file=out)
