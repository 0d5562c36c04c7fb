"""The nightly sections of a run's report: what changed since the previous run (``--compare``)
and how stable each cell's verdict is over seeds (``--repeat``), as terminal lines and as HTML.

Both read only the report's model (:class:`~faultkit.runner.model.Comparison`,
:class:`~faultkit.runner.model.Repeat`); JSON carries the same models as they are.
"""

from __future__ import annotations

from html import escape

from faultkit.report.table import Column, Table, TableCell, html_table
from faultkit.runner.model import Cell, CellChange, Repeat, RunReport
from faultkit.scrub import scrub_text

LABELS = {
    "newly_uncontrolled": "newly uncontrolled",
    "fixed": "fixed",
    "newly_not_exercised": "newly not exercised",
    "newly_harness_error": "newly harness error",
    "newly_failing": "newly failing",
    "now_judged": "judged again",
    "newly_passing": "newly passing",
    "kind_changed": "verdict changed",
    "added": "added",
    "removed": "removed",
}


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def share_text(repeat: Repeat) -> str:
    """``controlled 3/5 = 60% (95% CI 23%-88%)``, or why there is no share."""
    if not repeat.judged:
        return "no run judged (no fault fired, or harness errors)"
    return (
        f"controlled {repeat.controlled}/{repeat.judged} = {_percent(repeat.share)} "
        f"({repeat.confidence * 100:.0f}% CI {_percent(repeat.low)}-{_percent(repeat.high)})"
    )


def counts_text(repeat: Repeat) -> str:
    return ", ".join(f"{kind} x{n}" for kind, n in repeat.counts.items())


def repeat_note(cell: Cell) -> str:
    """What the matrix adds to an unstable cell's text: `` ~ 3/5 controlled``."""
    if cell.repeat is None or cell.repeat.stable:
        return ""
    return f" ~ {cell.repeat.controlled}/{cell.repeat.judged} controlled"


def _where(target: str, scenario: str, case: str) -> str:
    return f"{target} x {scenario} [{case}]"


def _unstable(report: RunReport) -> list[Cell]:
    return [c for c in report.cells if c.repeat is not None and not c.repeat.stable]


# -- terminal ------------------------------------------------------------------------------------


def stability_lines(report: RunReport) -> list[str]:
    """The seeds each cell ran under, every unstable cell (counts per verdict kind, controlled
    share and interval, every seed's verdict, the repro of its worst seed), and how many were
    stable. Nothing without ``--repeat``."""
    if report.repeat <= 1:
        return []
    n = report.repeat
    lines = [
        f"seeds: each cell ran under {n} seeds (the scenario's seed, then the next {n - 1}); "
        "a cell's verdict is its worst run's"
    ]
    unstable = _unstable(report)
    if unstable:
        lines.append("unstable (the verdict depends on the seed):")
    for cell in unstable:
        assert cell.repeat is not None
        lines.append(
            f"  {_where(cell.target, cell.scenario, cell.case)}: {counts_text(cell.repeat)}; "
            f"{share_text(cell.repeat)}"
        )
        lines.append("    seeds: " + ", ".join(f"{r.seed} {r.kind}" for r in cell.repeat.runs))
        lines.append(f"    worst, seed {cell.seed}: {cell.repro}")
    lines.append(
        f"stable: {len(report.cells) - len(unstable)} of {len(report.cells)} cell(s) "
        "gave one verdict on every seed"
    )
    lines.append("")
    return [scrub_text(line) for line in lines]


def _change_line(change: CellChange) -> str:
    mark = "!" if change.regression else " "
    where = _where(change.target, change.scenario, change.case)
    if change.change == "added":
        what = f"{change.after}"
    elif change.change == "removed":
        what = f"was {change.before}"
    else:
        what = f"{change.before} -> {change.after}"
    return f"  {mark} {LABELS[change.change]:<20} {where}: {what}"


def change_lines(report: RunReport) -> list[str]:
    """What changed since the previous run, regressions first with their repro commands.
    Nothing without ``--compare``."""
    comparison = report.comparison
    if comparison is None:
        return []
    when = f", run {comparison.previous_started_at}" if comparison.previous_started_at else ""
    lines = [
        f"changes since {comparison.previous}{when}: {comparison.matched} cell(s) matched, "
        f"{comparison.unchanged} unchanged"
    ]
    if not comparison.changes:
        lines.append("  none")
    for change in comparison.changes:
        lines.append(_change_line(change))
        if change.regression and change.repro:
            lines.append(f"      {change.repro}")
    if comparison.matched == 0 and comparison.changes:
        lines.append(
            f"  (no cell in common with {comparison.previous}: another project's report, or "
            "every scenario renamed?)"
        )
    lines.append("")
    return [scrub_text(line) for line in lines]


def summary_tail(report: RunReport) -> str:
    """What the last line of the terminal summary adds: unstable cells, the comparison."""
    parts = []
    if report.repeat > 1:
        unstable = len(_unstable(report))
        parts.append(f"{unstable} cell(s) unstable over {report.repeat} seeds")
    comparison = report.comparison
    if comparison is not None:
        fixed = sum(1 for c in comparison.changes if c.change == "fixed")
        parts.append(
            f"since {comparison.previous}: {comparison.regressions} regression(s), {fixed} "
            f"fixed, {comparison.still_failing} still failing"
        )
    return "".join(f"; {p}" for p in parts)


# -- HTML ----------------------------------------------------------------------------------------


CHANGE_COLUMNS = [
    Column("change"),
    Column("target"),
    Column("scenario"),
    Column("case"),
    Column("before"),
    Column("now"),
    Column("reproduce", code=True),
]


def _change_style(change: CellChange) -> str | None:
    if change.regression:
        return "fail"
    return "ok" if change.change == "fixed" else None


def changes_html(report: RunReport) -> str:
    """The "Changes since the previous run" section (empty without ``--compare``)."""
    comparison = report.comparison
    if comparison is None:
        return ""
    rows = [
        [
            TableCell(
                f"{'! ' if change.regression else ''}{LABELS[change.change]}",
                style=_change_style(change),
            ),
            change.target,
            change.scenario,
            change.case,
            change.before or "",
            change.after or "",
            (change.repro or "") if change.regression else "",
        ]
        for change in comparison.changes
    ]
    table = html_table(Table(CHANGE_COLUMNS, rows, kind="changes", empty="No cell changed."))
    started = comparison.previous_started_at
    when = f" (run {escape(started)})" if started else ""
    return (
        '<section id="changes"><h2>Changes since the previous run</h2>'
        f"<p>Compared with <code>{escape(comparison.previous)}</code>{when}: "
        f"{comparison.matched} cell(s) matched, {comparison.unchanged} unchanged, "
        f"<strong>{comparison.regressions} regression(s)</strong>, "
        f"{comparison.still_failing} still failing. A regression (marked !) fails the run; "
        "a failure carried over from the previous run does not.</p>"
        f"{table}</section>"
    )


STABILITY_COLUMNS = [
    Column("target"),
    Column("scenario"),
    Column("case"),
    Column("stability"),
    Column("verdicts"),
    Column("controlled share"),
    Column("cell verdict"),
    Column("seeds"),
]


def stability_html(report: RunReport) -> str:
    """The "Seed stability" section (empty without ``--repeat``)."""
    if report.repeat <= 1:
        return ""
    rows = []
    for cell in report.cells:
        repeat = cell.repeat
        if repeat is None:
            continue
        stability = "stable" if repeat.stable else "unstable"
        rows.append(
            [
                cell.target,
                cell.scenario,
                cell.case,
                TableCell(stability, style="ok" if repeat.stable else "fail"),
                counts_text(repeat),
                share_text(repeat),
                f"{cell.verdict.kind} (seed {cell.seed})",
                TableCell(", ".join(f"{r.seed} {r.kind}" for r in repeat.runs), style="muted"),
            ]
        )
    table = Table(STABILITY_COLUMNS, rows, kind="stability", empty="No cell ran.")
    unstable = len(_unstable(report))
    return (
        '<section id="stability"><h2>Seed stability</h2>'
        f"<p>Each cell ran under {report.repeat} seeds (the scenario's seed, then the next "
        f"{report.repeat - 1}); {unstable} cell(s) gave different verdicts on different seeds. "
        "A cell's verdict is its worst run's; its repro command reruns that seed.</p>"
        f"{html_table(table)}</section>"
    )
