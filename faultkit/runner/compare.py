"""``faultkit run --compare PREVIOUS/report.json``: what changed since the last run.

Cells are matched by (target, scenario, case). Each matched cell whose verdict differs, and
each cell added or removed, is one :class:`~faultkit.runner.model.CellChange`, listed in this
order: newly uncontrolled, fixed (uncontrolled -> controlled), newly not exercised, newly a
harness error, newly failing with the same verdict (its scenario no longer allows it, or
``--require-exercised`` now fails an unexercised cell), judged again (not exercised or harness
error -> controlled), newly passing with the same verdict, verdict kind changed within its
category, added, removed; regressions before everything else.

**The exit code rule changes under --compare** (it does not add to the plain rule). Without
it, any failing cell fails the run, so a nightly job over a system with one known uncontrolled
verdict is red every night and says nothing about last night's change. With it the run fails
(exit 1) only on a *regression*:

* a cell that fails the run now and passed it last time (newly uncontrolled, a new harness
  error, a controlled verdict its scenario no longer allows, with ``--require-exercised`` a
  newly unexercised cell);
* a newly uncontrolled verdict, even where the previous verdict failed too (a harness error
  last time, an uncontrolled one this time, is news);
* a new cell (scenario, case or target added) that fails the run.

A failure carried over from the previous run is still shown in the matrix and counted
(``still_failing``), but does not fail the job: the previous report is the accepted baseline,
and a fixed cell raises that baseline for the next night. Exit 2: the previous report cannot be
read or is not a ``faultkit run`` report (one located line, before anything runs).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from faultkit.runner.errors import RunError
from faultkit.runner.model import Category, Cell, CellChange, ChangeKind, Comparison

ORDER: tuple[ChangeKind, ...] = get_args(ChangeKind)  # the order changes are listed in


class _Verdict(BaseModel):
    kind: str


class PreviousCell(BaseModel):
    """A cell of the previous report: only the fields a comparison reads (the rest of an older
    report may differ without breaking the comparison)."""

    target: str
    scenario: str
    case: str
    verdict: _Verdict
    category: Category
    passed: bool


class PreviousRun(BaseModel):
    """The previous ``report.json``, as far as a comparison needs it."""

    path: str = ""
    started_at: str = ""
    command: str = ""
    cells: list[PreviousCell]


def load_previous(path: str | Path) -> PreviousRun:
    """Read a previous ``faultkit run`` report; any problem is a one-line :class:`RunError`
    naming the file (and the line, or the cell and field, where there is one). A report
    directory (``--report``'s) stands for the ``report.json`` in it."""
    if Path(path).is_dir() and (Path(path) / "report.json").is_file():
        path = Path(path) / "report.json"
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunError(f"{where}: previous report not found (--compare)") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise RunError(f"{where}: cannot read the previous report (--compare): {reason}") from None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunError(
            f"{where}:{exc.lineno}: not JSON ({exc.msg}); --compare takes the "
            "report.json of an earlier faultkit run"
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("mode") not in ("embedded", "target")
        or not isinstance(data.get("cells"), list)
    ):
        raise RunError(
            f"{where}: not a faultkit run report (no 'mode' and 'cells'); --compare takes the "
            "report.json of an earlier faultkit run"
        )
    try:
        previous = PreviousRun.model_validate(
            {
                "path": where,
                "started_at": str(data.get("started_at", "")),
                "command": str(data.get("command", "")),
                "cells": data["cells"],
            }
        )
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [str(p) for p in err["loc"]]
        in_cell = loc[:1] == ["cells"] and len(loc) > 1
        field = ".".join(loc[2:] if in_cell else loc)
        cell = f"cells[{loc[1]}]: " if in_cell else ""
        raise RunError(
            f"{where}: {cell}{field}: {err['msg']} (not a faultkit run report?)"
        ) from None
    return previous


def _change(before: PreviousCell, after: Cell) -> ChangeKind | None:
    """What happened to one matched cell, or None when its verdict is the same."""
    was, now = before.category, after.category
    if before.verdict.kind == after.verdict.kind:
        return None
    if now == "uncontrolled" and was != "uncontrolled":
        return "newly_uncontrolled"
    if was == "uncontrolled" and now == "controlled":
        return "fixed"
    if now != was and now in ("not_exercised", "harness_error"):
        return "newly_not_exercised" if now == "not_exercised" else "newly_harness_error"
    if now == "controlled" and was in ("not_exercised", "harness_error"):
        return "now_judged"
    return "kind_changed"


def _regression(change: ChangeKind, before: PreviousCell | None, after: Cell) -> bool:
    """The exit code rule of ``--compare`` (see the module docstring)."""
    if after.passed:
        return False
    return before is None or before.passed or change == "newly_uncontrolled"


def compare(previous: PreviousRun, cells: list[Cell]) -> Comparison:
    """Compare ``cells`` (this run) with ``previous``: the changed cells in reading order
    (regressions first, then :data:`ORDER`, then the run's own cell order)."""
    old = {(c.target, c.scenario, c.case): c for c in previous.cells}
    changes: list[CellChange] = []
    matched = unchanged = still_failing = 0
    for cell in cells:
        before = old.pop((cell.target, cell.scenario, cell.case), None)
        kind = "added" if before is None else _change(before, cell)
        if before is not None:
            matched += 1
            still_failing += int(not cell.passed and not before.passed)
            if kind is None and cell.passed != before.passed:
                kind = "newly_failing" if before.passed else "newly_passing"
        if kind is None:
            unchanged += 1
            continue
        changes.append(
            CellChange(
                change=kind,
                target=cell.target,
                scenario=cell.scenario,
                case=cell.case,
                before=before.verdict.kind if before is not None else None,
                after=cell.verdict.kind,
                regression=_regression(kind, before, cell),
                repro=cell.repro,
            )
        )
    for (target, scenario, case), before in old.items():
        changes.append(
            CellChange(
                change="removed",
                target=target,
                scenario=scenario,
                case=case,
                before=before.verdict.kind,
            )
        )
    changes.sort(key=lambda c: (not c.regression, ORDER.index(c.change)))
    return Comparison(
        previous=previous.path,
        previous_started_at=previous.started_at,
        previous_command=previous.command,
        matched=matched,
        unchanged=unchanged,
        still_failing=still_failing,
        changes=changes,
    )
