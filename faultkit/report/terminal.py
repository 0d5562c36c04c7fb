"""The verdict matrix as a text table, for the terminal (ANSI colour only on a TTY, and never
with ``NO_COLOR`` set: :mod:`faultkit.report.table`). Plain ASCII, so it prints on any console
encoding; on a terminal with rich installed, :func:`show_matrix` draws rich's table instead
(:mod:`faultkit.report.rich_view`)."""

from __future__ import annotations

import os
from collections import Counter
from typing import TextIO

from faultkit.report import nightly
from faultkit.report.ledger_table import ledger_lines, wrap
from faultkit.report.rich_view import StyleOf, painter, show_table
from faultkit.report.table import text_table, use_color
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


def cell_text(cell: Cell) -> str:
    """``fallback``; ``crash (expected)`` for an expected uncontrolled verdict; ``crash !``
    plus what was expected when the cell failed; ``not_exercised`` when no fault fired
    (``not_exercised !`` with ``--require-exercised``); ``harness_error !``. Under
    ``--repeat``, an unstable cell adds its controlled share (`` ~ 3/5 controlled``)."""
    return _verdict_text(cell) + nightly.repeat_note(cell)


def _verdict_text(cell: Cell) -> str:
    kind = cell.verdict.kind
    judged_by_kind = cell.expected not in (None, "controlled")
    if not judged_by_kind and cell.category in ("not_exercised", "harness_error"):
        return kind if cell.passed else f"{kind} !"
    if cell.passed:
        return kind if cell.controlled else f"{kind} (expected)"
    wanted = cell.expected if judged_by_kind else "controlled"
    if cell.controlled and not judged_by_kind:
        wanted = "one of " + "/".join(cell.verdict.allowed)
    return f"{kind} ! want {wanted}"


def cell_style(cell: Cell) -> str:
    """The :data:`~faultkit.report.rich_view.STYLES` name a matrix cell is painted with: a
    failing cell stands out most, a cell where no fault fired is neither green nor red."""
    if not cell.passed:
        return "fail"
    if cell.category == "not_exercised":
        return "unfired"
    return "ok" if cell.controlled else "bad"


def matrix_table(report: RunReport) -> tuple[list[str], list[list[str]], StyleOf]:
    """The verdict matrix as a header, rows of texts and each cell's style. Rows: scenarios
    (with their case when there are several); columns: targets."""
    targets = list(dict.fromkeys(c.target for c in report.cells))
    several = len(report.cases) > 1
    rows: list[tuple[str, list[Cell | None]]] = []
    for info in report.scenarios:
        for case in report.cases:
            label = f"{info.name} [{case}]" if several else info.name
            found = {
                c.target: c for c in report.cells if c.scenario == info.name and c.case == case
            }
            if found:
                rows.append((label, [found.get(t) for t in targets]))
    texts = [[label, *(cell_text(c) if c else "-" for c in cells)] for label, cells in rows]

    def style_of(row: int, column: int) -> str | None:
        cell = rows[row][1][column - 1] if column else None
        return cell_style(cell) if cell is not None else None

    return ["SCENARIO", *targets], texts, style_of


def matrix(report: RunReport, color: bool = False) -> str:
    """The verdict matrix as plain text (ANSI colour with ``color``)."""
    header, texts, style_of = matrix_table(report)
    paint = painter(style_of) if color else None
    return "\n".join(text_table(texts, header=header, paint=paint))


def show_matrix(report: RunReport, out: TextIO) -> None:
    """The verdict matrix on ``out``: rich's table on a terminal, else :func:`matrix`'s text
    (coloured on a terminal without rich)."""
    header, texts, style_of = matrix_table(report)
    show_table(out, texts, header=header, style_of=style_of)


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
