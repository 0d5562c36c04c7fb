"""What a ``faultkit run`` produced, as data: one :class:`Cell` per (target, scenario, case) and
the :class:`RunReport` around them. Every report format (JSON, JUnit, HTML, terminal) is a view
of this model, so they can never disagree.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from faultkit.ledger import LedgerEntry
from faultkit.oracle.result import Result
from faultkit.oracle.verdict import Verdict, is_controlled

Mode = Literal["embedded", "target"]
# What a cell says about the target: it was controlled or not; or it says nothing, because no
# fault fired (not_exercised) or the harness could not run it (harness_error).
Category = Literal["controlled", "uncontrolled", "not_exercised", "harness_error"]


class SeedRun(BaseModel):
    """One seed's run of a cell under ``--repeat``: its verdict and the command that
    reproduces exactly this seed."""

    seed: int
    kind: str
    category: Category
    passed: bool
    duration_ms: float
    repro: str = ""


class Repeat(BaseModel):
    """How a cell fared under ``--repeat N`` (built by :func:`faultkit.runner.repeat.merge`).

    ``counts``: verdict kind -> runs. ``judged``: runs that say something about the target
    (controlled or uncontrolled; not_exercised and harness_error runs do not), of which
    ``controlled`` were controlled; ``share`` is their ratio and ``low``..``high`` its Wilson
    score interval at ``confidence`` (None when no run was judged). ``stable``: every seed gave
    the same verdict kind."""

    runs: list[SeedRun]
    counts: dict[str, int]
    judged: int
    controlled: int
    share: float | None = None
    low: float | None = None
    high: float | None = None
    confidence: float = 0.95
    stable: bool


class Cell(BaseModel):
    """One run of one target on one scenario and case: the verdict and its evidence.

    ``repeat``: under ``--repeat N``, every seed's verdict; the cell itself is then its worst
    run (see :mod:`faultkit.runner.repeat`), so its seed and repro reproduce that run.
    ``expected`` is the verdict the embedded default expects (None for a user target, where
    the expectation is "controlled and allowed by the scenario"). ``started_ms`` puts the
    call on the ledger's clock, for latency plots. ``require_exercised``: a ``not_exercised``
    cell fails the run (``--require-exercised``); by default it is reported, not failed.
    """

    target: str
    scenario: str
    case: str
    seed: int
    verdict: Verdict
    result: Result
    ledger: list[LedgerEntry] = Field(default_factory=list)
    started_ms: float = 0.0
    deadline_ms: float | None = None
    expected: str | None = None
    repro: str = ""
    require_exercised: bool = False
    repeat: Repeat | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """True when this cell is what the run wants: the expected verdict in the embedded
        default; a controlled outcome the scenario allows for a user target. A cell whose
        faults never fired passes unless exercise is required; a harness error never does."""
        if self.expected is not None and self.expected != "controlled":
            return self.verdict.kind == self.expected
        if self.verdict.kind == "not_exercised":
            return not self.require_exercised
        return self.verdict.ok

    @computed_field  # type: ignore[prop-decorator]
    @property
    def category(self) -> Category:
        kind = self.verdict.kind
        if kind in ("not_exercised", "harness_error"):
            return kind
        return "controlled" if is_controlled(kind) else "uncontrolled"

    @property
    def reason(self) -> str:
        """Why the cell is what it is, in one sentence (the verdict's headline)."""
        return self.verdict.headline.summary

    @property
    def controlled(self) -> bool:
        return is_controlled(self.verdict.kind)

    @property
    def unmatched(self) -> list[LedgerEntry]:
        """Requests that found no recording: the harness, not the target, is incomplete."""
        return [e for e in self.ledger if e.ending == "unmatched"]


class TargetInfo(BaseModel):
    name: str
    ref: str
    kind: str
    contract: dict[str, Any] = Field(default_factory=dict)


class RuleInfo(BaseModel):
    """A scenario's rule as reports show it; ``match`` holds every match field it sets."""

    name: str
    fault: str
    route: str | None = None
    match: dict[str, Any] = Field(default_factory=dict)
    params: dict[str, Any] = Field(default_factory=dict)


class ScenarioInfo(BaseModel):
    name: str
    file: str | None = None
    seed: int
    description: str = ""
    rules: list[RuleInfo] = Field(default_factory=list)
    allowed: list[str] = Field(default_factory=list)
    deadline_ms: float | None = None
    max_attempts: int | None = None


# In the order a comparison lists them (faultkit.runner.compare.ORDER reads it from here).
ChangeKind = Literal[
    "newly_uncontrolled",
    "fixed",
    "newly_not_exercised",
    "newly_harness_error",
    "newly_failing",
    "now_judged",
    "newly_passing",
    "kind_changed",
    "added",
    "removed",
]


class CellChange(BaseModel):
    """One cell that differs from the previous run (see :mod:`faultkit.runner.compare`).

    ``before``/``after``: the verdict kinds (None for a cell added or removed).
    ``regression``: this change fails a ``--compare`` run."""

    change: ChangeKind
    target: str
    scenario: str
    case: str
    before: str | None = None
    after: str | None = None
    regression: bool = False
    repro: str = ""


class Comparison(BaseModel):
    """This run against a previous run's ``report.json``: the cells that changed, in the order
    a reader wants them (regressions first), and how many matched without change."""

    previous: str
    previous_started_at: str = ""
    previous_command: str = ""
    matched: int = 0
    unchanged: int = 0
    still_failing: int = 0
    changes: list[CellChange] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def regressions(self) -> int:
        return sum(1 for c in self.changes if c.regression)


class RunReport(BaseModel):
    """The whole run. ``exit_code`` is what ``faultkit run`` exited with: without
    ``comparison``, 0 when every cell passed and 1 when some did not; with it (``--compare``),
    1 only when the comparison found a regression (see :mod:`faultkit.runner.compare`).
    ``repeat``: seeds per cell (``--repeat``)."""

    faultkit_version: str = "unknown"
    mode: Mode
    started_at: str = ""
    duration_s: float = 0.0
    command: str = ""
    targets: list[TargetInfo] = Field(default_factory=list)
    scenarios: list[ScenarioInfo] = Field(default_factory=list)
    cases: list[str] = Field(default_factory=list)
    cells: list[Cell] = Field(default_factory=list)
    repeat: int = 1
    comparison: Comparison | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def exit_code(self) -> int:
        if self.comparison is not None:
            return 1 if self.comparison.regressions else 0
        return 0 if all(c.passed for c in self.cells) else 1

    @computed_field  # type: ignore[prop-decorator]
    @property
    def summary(self) -> dict[str, int]:
        """Cells by category (controlled, uncontrolled, not exercised, harness errors), and
        how many passed and failed."""
        categories = [c.category for c in self.cells]
        return {
            "cells": len(self.cells),
            "controlled": categories.count("controlled"),
            "uncontrolled": categories.count("uncontrolled"),
            "not_exercised": categories.count("not_exercised"),
            "harness_errors": categories.count("harness_error"),
            "passed": sum(1 for c in self.cells if c.passed),
            "failed": sum(1 for c in self.cells if not c.passed),
        }

    def harness_problems(self) -> list[Cell]:
        """Cells faultkit itself could not run as written (reported apart from the target's
        verdicts: they fail the run, but say nothing about the target)."""
        return [c for c in self.cells if c.category == "harness_error"]

    def cell(self, target: str, scenario: str, case: str | None = None) -> Cell:
        for c in self.cells:
            if c.target == target and c.scenario == scenario and (case is None or c.case == case):
                return c
        raise KeyError((target, scenario, case))

    def matrix(self) -> dict[str, dict[str, str]]:
        """scenario -> target -> verdict kind (with several cases, ``kind`` of each joined by
        ``/`` in case order)."""
        out: dict[str, dict[str, list[str]]] = {}
        for c in self.cells:
            out.setdefault(c.scenario, {}).setdefault(c.target, []).append(c.verdict.kind)
        return {s: {t: "/".join(k) for t, k in row.items()} for s, row in out.items()}
