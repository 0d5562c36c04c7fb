"""The verdict matrix as a text table, for the terminal (ANSI colour only on a TTY, and never
with ``NO_COLOR`` set). Plain ASCII, so it prints on any console encoding."""

from __future__ import annotations

import os
from typing import TextIO

from faultkit.runner.model import Cell, RunReport

GREEN, RED, DIM, BOLD, RESET = "\033[32m", "\033[31m", "\033[2m", "\033[1m", "\033[0m"


def use_color(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


def cell_text(cell: Cell) -> str:
    """``fallback``; ``crash (expected)`` for an expected uncontrolled verdict; ``crash !``
    plus what was expected when the cell failed."""
    kind = cell.verdict.kind
    if cell.passed:
        return kind if cell.controlled else f"{kind} (expected)"
    wanted = cell.expected if cell.expected not in (None, "controlled") else "controlled"
    if cell.controlled and cell.expected in (None, "controlled"):
        wanted = "one of " + "/".join(cell.verdict.allowed)
    return f"{kind} ! want {wanted}"


def _paint(text: str, cell: Cell, color: bool) -> str:
    if not color:
        return text
    if not cell.passed:
        return f"{BOLD}{RED}{text}{RESET}"
    return f"{GREEN if cell.controlled else RED}{text}{RESET}"


def matrix(report: RunReport, color: bool = False) -> str:
    """Rows: scenarios (with their case when there are several); columns: targets."""
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
    head = ["SCENARIO", *targets]
    texts = [[label, *(cell_text(c) if c else "-" for c in cells)] for label, cells in rows]
    widths = [max(len(r[i]) for r in [head, *texts]) for i in range(len(head))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    for (_, cells), text in zip(rows, texts, strict=True):
        out = [text[0].ljust(widths[0])]
        for i, cell in enumerate(cells, start=1):
            padded = text[i].ljust(widths[i])
            out.append(_paint(padded, cell, color) if cell else padded)
        lines.append("  ".join(out).rstrip())
    return "\n".join(lines)


def summary(report: RunReport) -> list[str]:
    """One line per target (how many cells controlled), then the verdict on the run."""
    lines = []
    for target in dict.fromkeys(c.target for c in report.cells):
        cells = [c for c in report.cells if c.target == target]
        controlled = sum(1 for c in cells if c.controlled)
        passed = sum(1 for c in cells if c.passed)
        extra = ""
        if report.mode == "embedded" and passed != controlled:
            extra = f", {passed}/{len(cells)} as expected"
        lines.append(f"{target}: {controlled}/{len(cells)} controlled{extra}")
    failed = [c for c in report.cells if not c.passed]
    if report.mode == "embedded":
        verdict = (
            "the matrix is the expected one"
            if not failed
            else f"{len(failed)} cell(s) differ from the expected matrix"
        )
    else:
        verdict = (
            "every verdict is controlled and allowed"
            if not failed
            else f"{len(failed)} verdict(s) uncontrolled or not allowed"
        )
    lines.append(f"{verdict} (exit {report.exit_code})")
    return lines
