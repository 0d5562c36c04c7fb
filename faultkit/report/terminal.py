"""The verdict matrix as a text table, for the terminal (ANSI colour only on a TTY, and never
with ``NO_COLOR`` set: :mod:`faultkit.report.table`). Plain ASCII, so it prints on any console
encoding; on a terminal with rich installed, :func:`show_matrix` draws rich's table instead
(:mod:`faultkit.report.rich_view`). The matrix itself is built in :mod:`faultkit.report.matrix`,
once for here and for the HTML page."""

from __future__ import annotations

import os
from collections import Counter
from typing import TextIO

from faultkit.report import nightly
from faultkit.report.ledger_table import ledger_lines, wrap
from faultkit.report.matrix import cell_style, cell_text, verdict_table
from faultkit.report.rich_view import StyleOf, painter, show
from faultkit.report.table import use_color
from faultkit.runner.model import Cell, RunReport
from faultkit.scrub import scrub_text

__all__ = [
    "cell_style",
    "cell_text",
    "changes",
    "details",
    "matrix",
    "matrix_table",
    "show_matrix",
    "stability",
    "summary",
    "use_color",
]


DEFAULT_WIDTH, MIN_WIDTH, MAX_WIDTH = 100, 80, 120


def matrix_table(report: RunReport) -> tuple[list[str], list[list[str]], StyleOf]:
    """The verdict matrix (:func:`~faultkit.report.matrix.verdict_table`) as a header, rows
    of texts and each cell's style."""
    table = verdict_table(report)
    return table.header, table.texts(), table.style_of


def matrix(report: RunReport, color: bool = False) -> str:
    """The verdict matrix as plain text (ANSI colour with ``color``)."""
    table = verdict_table(report)
    return "\n".join(table.lines(paint=painter(table.style_of) if color else None))


def show_matrix(report: RunReport, out: TextIO) -> None:
    """The verdict matrix on ``out``: rich's table on a terminal, else :func:`matrix`'s text
    (coloured on a terminal without rich)."""
    show(out, verdict_table(report))


def details(report: RunReport, width: int = DEFAULT_WIDTH) -> list[str]:
    """What follows the matrix: the repro command of every verdict that is uncontrolled or
    failed the run, each failing verdict explained with its ledger, the cells where no fault
    fired, and the harness problems apart from the target's verdicts. Scrubbed, as the files
    are. Findings, ledgers and URLs fit ``width`` columns (wrapped or abbreviated: the full
    values are in report.json); a repro command is never wrapped, so it can be copied."""
    lines: list[str] = []
    harness = report.harness_problems()
    judged = [c for c in report.cells if c.category in ("controlled", "uncontrolled")]
    unfired = [c for c in report.cells if c.category == "not_exercised"]
    failing = [c for c in judged if not c.controlled or not c.passed]
    failing += [c for c in unfired if not c.passed]
    if failing:
        lines.append("reproduce a failing verdict:")
        lines.extend(f"  {c.verdict.kind:<22} {c.repro}" for c in failing)
        lines.append("")
    for cell in failing:
        if not cell.passed:
            lines.extend(_explained(cell, width))
    if unfired:
        lines.append(
            "not exercised (no fault fired, so these cells say nothing about the target"
            + ("" if any(not c.passed for c in unfired) else "; --require-exercised fails them")
            + "):"
        )
        for c in unfired:
            lines.extend(_wrapped(f"  {_where(c)}: {c.reason}", width))
        lines.append("")
    if harness:
        lines.append(
            "harness problems (faultkit could not run these cells as written; they fail the "
            "run and say nothing about the target):"
        )
        for cell in harness:
            lines.append(f"  {_where(cell)}: {cell.reason}")
            for entry in cell.unmatched:
                lines.extend(
                    wrap(f"#{entry.id} {entry.method} {entry.url}: no recording", width, "    ")
                )
                lines.extend(f"      closest: {c}" for c in _closest(cell, entry.id))
        lines.append("")
    return [scrub_text(line) for line in lines]


def _explained(cell: Cell, width: int) -> list[str]:
    """A failing verdict's explanation, its findings wrapped to ``width``, then its ledger."""
    lines = []
    for line in cell.verdict.explain().split("\n"):
        if len(line) <= width or line.startswith("  reproduce: "):
            lines.append(line)
        else:
            lines.extend(_wrapped(line, width))
    lines.append("  ledger:")
    lines.extend(ledger_lines(cell.ledger, width))
    lines.append("")
    return lines


def _wrapped(line: str, width: int) -> list[str]:
    """A long line wrapped to ``width``: continuation lines under a ``- `` bullet's text, or
    two spaces deeper than the line itself."""
    body = line.lstrip(" ")
    lead = line[: len(line) - len(body)]
    if body.startswith("- "):
        lead, body = lead + "- ", body[2:]
        under = " " * len(lead)
    else:
        under = lead + "  "
    wrapped = wrap(body, width, under)
    return [lead + wrapped[0][len(under) :], *wrapped[1:]]


def terminal_width(stream: TextIO) -> int:
    """The width the details are fitted to: the terminal's, held to 80..120 columns (a wider
    line is no easier to read); ``COLUMNS`` or 100 when not a terminal."""
    import shutil

    columns = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    isatty = getattr(stream, "isatty", lambda: False)()
    if not isatty and "COLUMNS" not in os.environ:
        columns = DEFAULT_WIDTH
    return max(MIN_WIDTH, min(MAX_WIDTH, columns))


def _where(cell: Cell) -> str:
    return f"{cell.target} x {cell.scenario} [{cell.case}]"


def _closest(cell: Cell, entry_id: int) -> list[str]:
    for finding in cell.verdict.findings_of("harness_error"):
        for request in finding.values.get("unmatched", []):
            if request.get("entry") == entry_id:
                return list(request.get("closest", []))
    return []


def summary(report: RunReport) -> list[str]:
    """One line per target (how many cells controlled, uncontrolled, not exercised, harness
    errors), then the verdict on the run."""
    lines = []
    for target in dict.fromkeys(c.target for c in report.cells):
        cells = [c for c in report.cells if c.target == target]
        counts = Counter(c.category for c in cells)
        passed = sum(1 for c in cells if c.passed)
        extra = ""
        if report.mode == "embedded" and passed != counts["controlled"]:
            extra = f", {passed}/{len(cells)} as expected"
        for category, label in CATEGORY_LABELS:
            if counts[category]:
                extra += f", {counts[category]} {label}"
        lines.append(f"{target}: {counts['controlled']}/{len(cells)} controlled{extra}")
    failed = [c for c in report.cells if not c.passed]
    problems = Counter(c.category for c in failed)
    judged_failures = problems["controlled"] + problems["uncontrolled"]
    if report.mode == "embedded":
        verdict = (
            "the matrix is the expected one"
            if not failed
            else f"{len(failed)} cell(s) differ from the expected matrix"
        )
    else:
        parts = []
        if judged_failures:
            parts.append(f"{judged_failures} verdict(s) uncontrolled or not allowed")
        if problems["harness_error"]:
            parts.append(f"{problems['harness_error']} harness error(s)")
        if problems["not_exercised"]:
            parts.append(f"{problems['not_exercised']} cell(s) not exercised")
        verdict = "; ".join(parts) or "every verdict is controlled and allowed"
        unfired = sum(1 for c in report.cells if c.category == "not_exercised" and c.passed)
        if unfired:
            verdict += f" ({unfired} cell(s) not exercised)"
    lines.append(f"{verdict}{nightly.summary_tail(report)} (exit {report.exit_code})")
    return lines


def stability(report: RunReport) -> list[str]:
    """Under ``--repeat``: the unstable cells with counts and interval (see
    :func:`nightly.stability_lines`)."""
    return nightly.stability_lines(report)


def changes(report: RunReport) -> list[str]:
    """Under ``--compare``: what changed since the previous run (see
    :func:`nightly.change_lines`)."""
    return nightly.change_lines(report)


CATEGORY_LABELS = (
    ("uncontrolled", "uncontrolled"),
    ("not_exercised", "not exercised"),
    ("harness_error", "harness error(s)"),
)
