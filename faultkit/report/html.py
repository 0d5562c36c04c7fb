"""The HTML report: one self-contained page (inline CSS and SVG, no script, nothing fetched).

Sections: the verdict matrix (scenario x target, linked to the details), the fault-coverage
matrix (fault types x routes and wire formats: exercised, skipped, or not), and one section
per scenario with its rules, a latency plot (:func:`latency_plot`, drawn by
:mod:`faultkit.report.charts`), and for every cell the verdict's findings, the repro command
and the ledger.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from faultkit.oracle.facts import failed, failure_reason
from faultkit.report import nightly, table
from faultkit.report.charts import Bar, Lane, lane_chart, ms_label
from faultkit.report.coverage import coverage
from faultkit.report.ledger_table import ledger_table
from faultkit.report.matrix import anchor, cell_text, verdict_table
from faultkit.report.table import Column, Table, TableCell, html_table
from faultkit.runner.model import Cell, RunReport

CSS = (
    """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;
max-width:1100px;padding:0 16px;color:#1c2330}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}
h3{font-size:16px;margin:24px 0 4px}code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}
pre{background:#f5f7f9;padding:8px;overflow-x:auto;white-space:pre-wrap}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #d7dce1;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#eef1f4}
td.ok{background:#e8f5e9;color:#1b5e20}td.bad{background:#fff3e0;color:#8d3d00}
td.fail{background:#b71c1c;color:#fff;font-weight:600}
td.unfired{background:#eceff1;color:#455a64;font-style:italic}
td.cov-exercised{background:#c8e6c9;text-align:center}td.cov-skipped{background:#fff9c4;
text-align:center}td.cov-no{color:#9e9e9e;text-align:center}
.summary{font-size:15px}.muted{color:#607080}.lane,.tick{font:11px system-ui,sans-serif;
fill:#37474f}.tick{text-anchor:middle}details{margin:6px 0}summary{cursor:pointer}
table.ledger td{font:12px ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere;
max-width:28em}
"""
    + table.CSS
)


COLORS = {
    "controlled": "#2e7d32",
    "uncontrolled": "#c62828",
    "not_exercised": "#90a4ae",
    "harness_error": "#6d4c41",
    "clean": "#90a4ae",
    "faulted": "#f9a825",
    "failed": "#e53935",
}


def latency_plot(cells: list[Cell], deadline_ms: float | None = None) -> str:
    """The lanes of one scenario (:func:`~faultkit.report.charts.lane_chart`): per (target,
    case), the call from its start to its answer (green when the verdict is controlled, red
    when not, grey-blue when no fault fired, brown for a harness problem) and every exchange
    it made, from arrival to the end of the response (grey when clean, amber when a fault was
    applied, red when it failed)."""
    lanes = []
    for cell in cells:
        start = cell.started_ms
        end = start + cell.result.duration_ms
        status = "timed out" if cell.result.timed_out else ms_label(round(cell.result.duration_ms))
        call = Bar(
            start, end, COLORS[cell.category], f"{cell.target}: {cell.verdict.kind} after {status}"
        )
        exchanges = []
        for entry in cell.ledger:
            stop = entry.end_ms if entry.end_ms is not None else end
            kind = "failed" if failed(entry) else ("faulted" if entry.faults else "clean")
            faults = ", ".join(f.type for f in entry.faults) or "none"
            why = failure_reason(entry) or entry.ending
            tip = (
                f"#{entry.id} {entry.route} {entry.model or entry.method} "
                f"attempt {entry.attempt}: {entry.status or '-'} {why}; faults: {faults}; "
                f"{ms_label(round(entry.arrival_ms))} to {ms_label(round(stop))}"
            )
            exchanges.append(Bar(entry.arrival_ms, stop, COLORS[kind], tip))
        lanes.append(Lane(f"{cell.target} [{cell.case}]", call, exchanges))
    return lane_chart(lanes, deadline_ms)


def _header(report: RunReport) -> str:
    s = report.summary
    targets = ", ".join(escape(t.name) for t in report.targets)
    outcome = "passed" if report.exit_code == 0 else "FAILED"
    mode = (
        "embedded default: the expected matrix is the pass criterion"
        if report.mode == "embedded"
        else "every verdict must be controlled and allowed by its scenario"
    )
    if report.comparison is not None:
        mode = f"compared with {report.comparison.previous}: only a regression fails the run"
    return (
        "<header><h1>faultkit run</h1>"
        f'<p class="summary">{s["cells"]} cells ({len(report.scenarios)} scenarios &times; '
        f"{len(report.targets)} target(s) &times; {len(report.cases)} case(s)): "
        f"{s['controlled']} controlled, {s['uncontrolled']} uncontrolled, "
        f"{s['not_exercised']} not exercised (no fault fired), "
        f"{s['harness_errors']} harness error(s). "
        f"Run <strong>{outcome}</strong> (exit {report.exit_code}; {escape(mode)}).</p>"
        f'<p class="muted">targets: {targets} &middot; faultkit {escape(report.faultkit_version)}'
        f" &middot; {escape(report.started_at)} &middot; {report.duration_s:.1f} s"
        + (f" &middot; <code>{escape(report.command)}</code>" if report.command else "")
        + "</p></header>"
    )


def _matrix(report: RunReport) -> str:
    legend = (
        '<p class="muted">green: controlled; orange: uncontrolled, as expected for this target; '
        "grey: not exercised, no fault fired, so the cell says nothing about the target; "
        "dark red: not what the run wants (the exit code is non-zero).</p>"
    )
    return (
        '<section id="matrix"><h2>Verdict matrix</h2>'
        f"{html_table(verdict_table(report))}{legend}</section>"
    )


def _harness(report: RunReport) -> str:
    """Cells faultkit could not run as written, apart from the target's verdicts, with the
    requests to record."""
    cells = report.harness_problems()
    if not cells:
        return ""
    items = []
    for cell in cells:
        requests = "".join(
            f"<li><code>#{e.id} {escape(e.method)} {escape(e.url)}</code>: no recording</li>"
            for e in cell.unmatched
        )
        items.append(
            f"<li><strong>{escape(cell.target)}</strong> &times; "
            f"<a href='#{anchor(cell.scenario)}'>{escape(cell.scenario)}</a> "
            f"[{escape(cell.case)}]: {escape(cell.reason)}"
            + (f"<ul>{requests}</ul>" if requests else "")
            + "</li>"
        )
    return (
        '<section id="harness"><h2>Harness problems</h2>'
        "<p>faultkit could not run these cells as written (a request with no recording, a "
        "broken cassette). They fail the run and say nothing about the target: record the "
        "requests, or widen the matching (<code>match_on</code>, "
        "<code>ignore_body_fields</code>).</p>"
        f"<ul>{''.join(items)}</ul></section>"
    )


COVERAGE_MARKS = {"exercised": "\u2713", "skipped": "skipped", "no": "\u2013"}  # check, en dash


def _coverage(report: RunReport) -> str:
    cov = coverage(report)
    columns = [Column("fault"), *(Column(route, note=fmt) for route, fmt in cov.columns)]
    rows = []
    for fault in cov.faults if cov.columns else []:  # no exchange: nothing to cover
        row: list[TableCell | str] = [fault]
        for column in cov.columns:
            state = cov.state(fault, column)
            text = COVERAGE_MARKS[state]
            if state == "exercised":
                text += f" {cov.applied[(fault, *column)]}"
            row.append(TableCell(text, style=f"cov-{state}"))
        rows.append(row)
    matrix = Table(columns, rows, kind="coverage", row_headers=True, empty="No exchanges.")
    never = ""
    if cov.never_fired:
        items = "".join(
            f"<li><code>{escape(f)}</code> on route <code>{escape(r)}</code> "
            f"(rule {escape(rule)} of <a href='#{anchor(s)}'>{escape(s)}</a>)</li>"
            for s, rule, f, r in cov.never_fired
        )
        never = f"<p>Rules that never fired (no matching request):</p><ul>{items}</ul>"
    return (
        '<section id="coverage"><h2>Fault coverage</h2>'
        '<p class="muted">How many exchanges each fault type was applied to, per route and '
        "wire format; <em>skipped</em>: it fired but had nothing to act on there.</p>"
        f"{html_table(matrix)}{never}</section>"
    )


HTML_REQUEST_CHARS = 60  # a long path or query would widen the table past a laptop screen


def _ledger(cell: Cell) -> str:
    # The request as the terminal shows it (path, middle abbreviated); the full URL on hover
    # and in report.json.
    return html_table(ledger_table(cell.ledger, request_chars=HTML_REQUEST_CHARS))


def _params_text(params: dict) -> str:
    """``status=429, retry_after_s=1.0``: the parameters that are set, as a scenario says them."""
    return ", ".join(f"{k}={v}" for k, v in params.items() if v is not None and k != "type")


def _scenarios(report: RunReport) -> str:
    parts = ['<section id="scenarios"><h2>Scenarios</h2>']
    for info in report.scenarios:
        cells = [c for c in report.cells if c.scenario == info.name]
        if not cells:
            continue
        rules = "".join(
            f"<li><code>{escape(r.fault)}</code> on <code>{escape(r.route or '*')}</code> "
            f"<span class='muted'>{escape(_params_text(r.params))}</span></li>"
            for r in info.rules
        )
        allowed = ", ".join(info.allowed)
        deadline = next((c.deadline_ms for c in cells if c.deadline_ms is not None), None)
        parts.append(
            f'<article id="{anchor(info.name)}"><h3>{escape(info.name)}</h3>'
            f"<p>{escape(info.description)}</p><ul>{rules}</ul>"
            f'<p class="muted">allowed: {escape(allowed)}; seed {info.seed}'
            + (f"; deadline {deadline:g} ms" if deadline is not None else "")
            + (f"; file <code>{escape(info.file)}</code>" if info.file else "")
            + "</p>"
            + latency_plot(cells, deadline)
        )
        for cell in cells:
            state = "open" if not cell.passed else ""
            parts.append(
                f"<details {state}><summary><strong>{escape(cell.target)}</strong> "
                f"[{escape(cell.case)}]: {escape(cell_text(cell))} "
                f"<span class='muted'>({cell.result.duration_ms / 1000:.2f} s)</span></summary>"
                f"<pre>{escape(cell.verdict.explain())}</pre>"
                + (f"<p>reproduce: <code>{escape(cell.repro)}</code></p>" if cell.repro else "")
                + _ledger(cell)
                + "</details>"
            )
        parts.append("</article>")
    parts.append("</section>")
    return "".join(parts)


def render(report: RunReport) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>faultkit report</title><style>{CSS}</style></head><body>"
        + _header(report)
        + nightly.changes_html(report)
        + _matrix(report)
        + nightly.stability_html(report)
        + _harness(report)
        + _coverage(report)
        + _scenarios(report)
        + "</body></html>\n"
    )


def write(report: RunReport, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(render(report), encoding="utf-8")
    return path
