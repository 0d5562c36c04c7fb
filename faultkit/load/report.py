"""Reports of a load test: ``load.json`` (everything), CSV tables, and an HTML page.

The HTML page is one self-contained file (inline SVG, no scripts, no network): per scenario,
its latency over time and its latency distribution next to the baseline's, drawn by
:func:`faultkit.report.charts.line_chart` (log latency axis; the distribution's x axis in
"nines"). The dashed line is the raw service time, so the gap coordinated omission would have
hidden stays visible.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from faultkit.report.charts import Series, line_chart
from faultkit.report.table import CSS as TABLE_CSS
from faultkit.report.table import Column, Table, html_table
from faultkit.scrub import scrub_text, scrub_url

from .results import PhaseResult
from .terminal import ms_text

if TYPE_CHECKING:
    from .runner import LoadReport

BASELINE_COLOR = "#1f77b4"
SCENARIO_COLOR = "#d62728"


def write_reports(report: LoadReport, directory: Path) -> list[Path]:
    """Write ``load.json``, ``load.csv``, ``load-timeline.csv`` and ``load.html``."""
    report = _scrubbed(report)
    directory.mkdir(parents=True, exist_ok=True)
    paths = [
        directory / "load.json",
        directory / "load.csv",
        directory / "load-timeline.csv",
        directory / "load.html",
    ]
    paths[0].write_text(report_json(report), encoding="utf-8")
    write_csv(report.results, paths[1])
    write_timeline_csv(report.results, paths[2])
    paths[3].write_text(render_html(report), encoding="utf-8")
    return paths


def report_json(report: LoadReport) -> str:
    """``load.json``'s document (scrubbed), also what ``faultkit load --json`` prints."""
    return _scrubbed(report).model_dump_json(indent=2)


def _scrubbed(report: LoadReport) -> LoadReport:
    """The report's free text (URLs, warnings, error categories) scrubbed: a target given as
    ``http://host/ask?key=...`` must not reach the files. Numbers and the encoded histograms
    carry no secrets and are left alone (scrubbing base64 by shape could corrupt them)."""
    results = []
    for r in report.results:
        errors: dict[str, int] = {}
        for kind, count in r.errors.items():
            key = scrub_text(kind)
            errors[key] = errors.get(key, 0) + count  # two keys may scrub to one
        results.append(r.model_copy(update={"host": scrub_url(r.host), "errors": errors}))
    return report.model_copy(
        update={
            "target": scrub_url(report.target) if report.target else report.target,
            # --app's command line may carry a key (env OPENAI_API_KEY=... uvicorn ...).
            "app": scrub_text(report.app) if report.app else report.app,
            "warnings": [scrub_text(w) for w in report.warnings],
            "results": results,
        }
    )


_SUMMARY = ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "p99_9_ms", "max_ms", "mean_ms")


def write_csv(results: Sequence[PhaseResult], path: Path) -> None:
    """One row per run: counts, both latency views, Locust's own figures, faults applied."""
    header = ["phase", "kind", "host", "complete", "duration_s", "requests", "failures"]
    header += ["error_rate", "rps"]
    header += [f"corrected_{k}" for k in _SUMMARY] + [f"raw_{k}" for k in _SUMMARY]
    header += ["locust_p50_ms", "locust_p95_ms", "locust_p99_ms", "faults_applied", "correction"]
    header += ["errors", "injected", "controlled", "uncontrolled", "unjudged"]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for r in results:
            locust = r.locust
            writer.writerow(
                [r.phase, r.kind, r.host, r.complete, r.duration_s, r.requests, r.failures]
                + [round(r.error_rate, 6), r.rps]
                + [getattr(r.corrected, k) for k in _SUMMARY]
                + [getattr(r.raw, k) for k in _SUMMARY]
                + [
                    locust.p50_ms if locust else None,
                    locust.p95_ms if locust else None,
                    locust.p99_ms if locust else None,
                    r.faults_applied,
                    r.correction,
                    _errors_text(r),
                    _injected_text(r),
                    r.answers.controlled if r.answers else None,
                    r.answers.uncontrolled if r.answers else None,
                    r.answers.unjudged if r.answers else None,
                ]
            )


def _errors_text(r: PhaseResult) -> str:
    return "; ".join(f"{label} x {n}" for label, n in r.errors.items())


def _injected_text(r: PhaseResult) -> str:
    return "; ".join(f"{i.fault} on {i.upstream} x {i.count}" for i in r.injected)


def _answers_text(r: PhaseResult) -> str:
    a = r.answers
    if a is None or not a.total:
        return "-"
    share = a.share("uncontrolled")
    pct = "-" if share is None else f"{share * 100:.2f}%"
    return f"{pct} ({a.uncontrolled} of {a.judged})"


def write_timeline_csv(results: Sequence[PhaseResult], path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(
            ["phase", "t_s", "requests", "failures", "p50_ms", "p99_ms", "max_ms", "raw_p99_ms"]
        )
        for r in results:
            for p in r.timeline:
                writer.writerow(
                    [
                        r.phase,
                        p.t_s,
                        p.requests,
                        p.failures,
                        p.p50_ms,
                        p.p99_ms,
                        p.max_ms,
                        p.raw_p99_ms,
                    ]
                )


# -- charts (drawn by faultkit.report.charts) --------------------------------------------------
def _timeline_series(result: PhaseResult, color: str, label: str) -> list[Series]:
    p99 = [(p.t_s, p.p99_ms) for p in result.timeline if p.p99_ms]
    p50 = [(p.t_s, p.p50_ms) for p in result.timeline if p.p50_ms]
    raw = [(p.t_s, p.raw_p99_ms) for p in result.timeline if p.raw_p99_ms]
    out = [Series(f"{label} p99", p99, color), Series(f"{label} p50", p50, color, dash="1,3")]
    if result.kind == "scenario":
        out.append(Series(f"{label} raw p99", raw, color, dash="5,4"))
    return out


def _distribution_series(result: PhaseResult, color: str, label: str) -> list[Series]:
    out = [Series(f"{label} corrected", result.spectrum.get("corrected", []), color)]
    if result.kind == "scenario":
        out.append(Series(f"{label} raw", result.spectrum.get("raw", []), color, dash="5,4"))
    return out


FIGURES = ("requests", "errors", "rps", "p50", "p95", "p99", "p99.9", "max", "raw p99")
RUN_COLUMNS = [
    Column("run"),
    Column("kind"),
    *(Column(n, numeric=True) for n in (*FIGURES, "Locust p99", "faults", "uncontrolled")),
]


def runs_table(results: Sequence[PhaseResult]) -> Table:
    """One row per run: counts, the corrected latency, the raw and Locust's p99, faults
    applied and the uncontrolled share of the answers."""
    rows = []
    for r in results:
        c = r.corrected
        rows.append(
            [r.phase, r.kind, str(r.requests), f"{r.error_rate * 100:.2f}%", f"{r.rps:.1f}"]
            + [ms_text(v) for v in (c.p50_ms, c.p95_ms, c.p99_ms, c.p99_9_ms, c.max_ms)]
            + [
                ms_text(r.raw.p99_ms),
                ms_text(r.locust.p99_ms if r.locust else None),
                "-" if r.faults_applied is None else str(r.faults_applied),
                _answers_text(r),
            ]
        )
    return Table(RUN_COLUMNS, rows, kind="runs", empty="No runs.")


def render_html(report: LoadReport) -> str:
    esc = html.escape
    baseline = next((r for r in report.results if r.kind == "baseline"), None)
    scenario_results = [r for r in report.results if r.kind == "scenario"]
    if scenario_results:
        sections = [_section(r.phase, baseline, r) for r in scenario_results]
    elif baseline is not None:
        sections = [_section("baseline", None, baseline)]
    else:
        sections = [_section(r.phase, None, r) for r in report.results]
    gates = "".join(
        f'<li class="{"ok" if o.ok else "fail"}">{esc(o.line())}</li>' for o in report.gates
    )
    warnings = "".join(f"<li>{esc(w)}</li>" for w in report.warnings)
    o = report.overhead
    overhead = (
        f"p50 {o.p50_ms:+.2f} ms, p95 {o.p95_ms:+.2f} ms, p99 {o.p99_ms:+.2f} ms ({esc(o.note)})"
        if o.p50_ms is not None and o.p95_ms is not None and o.p99_ms is not None
        else esc(o.note)
    )
    corrections = "; ".join(sorted({r.correction for r in report.results}))
    details = "".join(_details(r) for r in report.results)
    headline_class = "ok" if report.ok else "fail"
    app = (
        f"<p>app: <code>{esc(report.app)}</code> (stderr: {esc(report.app_stderr or '-')})</p>"
        if report.app
        else ""
    )
    doors = ", ".join(f"{esc(k)} &rarr; {esc(v)}" for k, v in report.doors.items())
    target = esc(report.target or "bundled replay (support cassettes, openai door)")
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>faultkit load report</title>
<style>
body{{font-family:sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ddd;padding:3px 8px;text-align:left}} th{{background:#f4f4f4}}
{TABLE_CSS}
.ok{{color:#2a7a2a}} .fail{{color:#b00;font-weight:bold}}
.charts{{display:flex;flex-wrap:wrap;gap:1em}} h2{{margin-top:1.6em}}
</style></head><body>
<h1>faultkit load report</h1>
<p class="{headline_class}"><b>{esc(report.headline)}</b></p>
<p>target: {target} &middot; faults at: {esc(report.faults_at)} &middot;
mode: {esc(report.mode)} &middot; route: {esc(report.route or "-")}
&middot; {report.users} users, {report.rate:g} req/s, {report.duration_s:g}s per run
&middot; workers: {report.workers} &middot; locustfile: {esc(report.locustfile)}</p>
{app}{f"<p>upstream doors: {doors}</p>" if doors else ""}
<p>Latency columns are in ms, corrected for coordinated omission ({esc(corrections)});
gates use the corrected figures. "raw p99" is the service time of sent requests;
"Locust p99" is Locust's own bucketed figure.</p>
{html_table(runs_table(report.results))}
<p>"uncontrolled": answers judged uncontrolled by the contract ({esc(report.contract)}).</p>
<p>proxy overhead: {overhead}</p>
<h2>errors, injected faults, answers per run</h2>{details}
<h2>gates</h2><ul>{gates or "<li>no gates</li>"}</ul>
{"<h2>warnings</h2><ul>" + warnings + "</ul>" if warnings else ""}
{"".join(sections)}
</body></html>
"""


def _details(r: PhaseResult) -> str:
    esc = html.escape
    errors = _errors_text(r) or "none"
    parts = [f"<h3>{esc(r.phase)} ({esc(r.kind)})</h3><ul><li>errors: {esc(errors)}</li>"]
    if r.faults_applied is not None:
        injected = _injected_text(r) or "nothing"
        parts.append(f"<li>injected: {esc(injected)} ({r.faults_applied} faulted exchanges)</li>")
    a = r.answers
    if a is not None and a.total:
        kinds = ", ".join(f"{k} {n}" for k, n in a.verdicts.items())
        parts.append(
            f"<li>answers: {a.controlled} controlled, {a.uncontrolled} uncontrolled, "
            f"{a.unjudged} unjudged: {esc(kinds)}</li>"
        )
        examples = [(k, why) for k, why in a.examples.items() if k != "pass"]
        parts.extend(f"<li>{esc(kind)}: {esc(why)}</li>" for kind, why in examples)
    return "".join(parts) + "</ul>"


def _section(title: str, baseline: PhaseResult | None, result: PhaseResult) -> str:
    timeline: list[Series] = []
    distribution: list[Series] = []
    if baseline is not None:
        timeline += _timeline_series(baseline, BASELINE_COLOR, "baseline")
        distribution += _distribution_series(baseline, BASELINE_COLOR, "baseline")
    if result is not baseline:
        timeline += _timeline_series(result, SCENARIO_COLOR, result.phase)
        distribution += _distribution_series(result, SCENARIO_COLOR, result.phase)
    heading = html.escape(title) + (" vs baseline" if baseline is not None else "")
    return (
        f'<h2>{heading}</h2><div class="charts">'
        f"<figure>{line_chart(timeline, x_label='time since start (s), by intended start')}"
        "<figcaption>latency over time (per second)</figcaption></figure>"
        f"<figure>{line_chart(distribution, x_label='percentile', x_nines=True)}"
        "<figcaption>latency distribution</figcaption></figure></div>"
    )
