"""The verdict matrix of a run, built once for the terminal and for ``report.html``.

Rows are scenarios (with their case when a run has several), columns are targets, and each
cell says its verdict (:func:`cell_text`) and what it means (:func:`cell_style`). The terminal
prints the texts and paints the styles (:mod:`faultkit.report.terminal`); the HTML page draws
the same :class:`~faultkit.report.table.Table` and adds what only it has room for: the reason
of a cell where no fault fired, every reason on hover, a link to the scenario's section.
"""

from __future__ import annotations

import re

from faultkit.report import nightly
from faultkit.report.table import Column, Table, TableCell
from faultkit.runner.model import Cell, RunReport

__all__ = ["anchor", "cell_style", "cell_text", "verdict_table"]

MISSING = "-"  # a (scenario, case) the target did not run


def anchor(scenario: str) -> str:
    """The id of a scenario's section in ``report.html`` (letters, digits, ``_`` and ``-``)."""
    return "s-" + re.sub(r"[^A-Za-z0-9_-]", "-", scenario)


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
    """The :data:`~faultkit.report.rich_view.STYLES` name a matrix cell is painted with (and
    its CSS class in HTML): a failing cell stands out most, a cell where no fault fired is
    neither green nor red, an uncontrolled verdict the run expected is ``bad`` but passes."""
    if not cell.passed:
        return "fail"
    if cell.category == "not_exercised":
        return "unfired"
    return "ok" if cell.controlled else "bad"


def _verdict_cell(cell: Cell | None) -> TableCell:
    if cell is None:
        return TableCell(MISSING)
    unjudged = cell.category in ("not_exercised", "harness_error")
    return TableCell(
        cell_text(cell),
        style=cell_style(cell),
        tip=cell.reason,
        note=cell.reason if unjudged else "",
    )


def verdict_table(report: RunReport) -> Table:
    """The verdict matrix: a ``SCENARIO`` column of row labels (linked to their sections in
    HTML), then one column per target, in the order the cells came."""
    targets = list(dict.fromkeys(c.target for c in report.cells))
    several = len(report.cases) > 1
    rows = []
    for info in report.scenarios:
        for case in report.cases:
            found = {
                c.target: c for c in report.cells if c.scenario == info.name and c.case == case
            }
            if not found:
                continue
            label = f"{info.name} [{case}]" if several else info.name
            row = [TableCell(label, link=anchor(info.name))]
            rows.append(row + [_verdict_cell(found.get(t)) for t in targets])
    columns = [Column("SCENARIO"), *(Column(t) for t in targets)]
    return Table(columns, rows, kind="matrix", row_headers=True, empty="No cells.")
