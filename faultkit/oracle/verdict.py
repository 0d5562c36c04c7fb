"""Verdicts: what the oracle concluded about one run of the system under test, and why.

A run can show several things at once (it retried, then fell back, then leaked an invalid
answer). Each is a :class:`Finding` with its evidence; the :class:`Verdict` is headed by the
worst finding and lists them all, so a report shows the headline and a reader can still see
everything that happened.

Which kinds exist, how bad each is and whether it counts as controlled is declared by the check
modules (``faultkit/oracle/checks/*.py``, bands and reasons in
:mod:`faultkit.oracle.checks.base`) and collected by :mod:`faultkit.oracle.checks`;
``SEVERITY``, ``VerdictKind``, ``CONTROLLED_KINDS`` and ``UNJUDGED_KINDS`` are read from there.
"""

from __future__ import annotations

from typing import Annotated, Any, NamedTuple

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, computed_field


class _Kinds(NamedTuple):
    SEVERITY: tuple[str, ...]
    CONTROLLED_KINDS: frozenset[str]
    UNJUDGED_KINDS: frozenset[str]
    VerdictKind: Any


# The kinds, their severity and their groups are declared by the check modules
# (faultkit/oracle/checks/*.py). faultkit.oracle.checks finds them and hands the tables over
# with declare_kinds when it is imported (importing faultkit.oracle imports it). Pushed rather
# than read: the check modules import this module for Finding, so it must not import them.
_kinds: _Kinds | None = None
_rank: dict[str, int] = {}


def declare_kinds(
    severity: tuple[str, ...], controlled: frozenset[str], unjudged: frozenset[str], literal: Any
) -> None:
    """Take the verdict kinds found in the check modules: all of them worst first, the
    controlled and the unjudged ones, and the ``Literal`` of their names."""
    global _kinds
    _kinds = _Kinds(severity, controlled, unjudged, literal)
    _rank.clear()
    _rank.update((kind, i) for i, kind in enumerate(severity))


def _tables() -> _Kinds:
    if _kinds is None:
        raise RuntimeError("no verdict kinds declared: import faultkit.oracle first")
    return _kinds


def __getattr__(name: str) -> Any:
    """``VerdictKind``, ``SEVERITY``, ``CONTROLLED_KINDS`` and ``UNJUDGED_KINDS``, as
    :mod:`faultkit.oracle.checks` derived them from the check modules."""
    if name in _Kinds._fields:
        return getattr(_tables(), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _known(kind: str) -> str:
    if kind not in _rank:
        raise ValueError(f"unknown verdict kind {kind!r}; known: {', '.join(_tables().SEVERITY)}")
    return kind


# A verdict kind's name, checked against the declared kinds.
KindName = Annotated[str, AfterValidator(_known)]


def severity(kind: str) -> int:
    """Rank of ``kind``: 0 is the worst."""
    return _rank[kind]


def is_controlled(kind: str) -> bool:
    return kind in _tables().CONTROLLED_KINDS


def is_uncontrolled(kind: str) -> bool:
    """An uncontrolled verdict about the SUT (not ``not_exercised`` or ``harness_error``)."""
    tables = _tables()
    return kind not in tables.CONTROLLED_KINDS and kind not in tables.UNJUDGED_KINDS


class Finding(BaseModel):
    """One thing the oracle saw, with the evidence a reader needs to check it.

    ``entry_ids`` point into the ledger; ``values`` holds the facts the conclusion rests on
    (attempt counts, statuses, the leaked value and where it appeared); ``timings_ms`` the
    durations and gaps; ``summary`` says it in one sentence.
    """

    model_config = ConfigDict(frozen=True)

    kind: KindName
    summary: str
    entry_ids: list[int] = Field(default_factory=list)
    values: dict[str, Any] = Field(default_factory=dict)
    timings_ms: dict[str, float] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def controlled(self) -> bool:
        return is_controlled(self.kind)

    def line(self) -> str:
        ids = f" [ledger {', '.join(f'#{i}' for i in self.entry_ids)}]" if self.entry_ids else ""
        return f"{self.kind}: {self.summary}{ids}"


class Verdict(BaseModel):
    """The oracle's answer for one (scenario, case): the worst finding, all findings, a repro.

    ``expected`` is False when the outcome is controlled but not one the scenario allows (a
    scenario may accept only ``controlled_error``). ``repro`` is filled by the caller that knows
    how the run was started (``faultkit run ... --scenario X --case Y --seed N``).
    """

    kind: KindName
    findings: list[Finding]
    allowed: list[str] = Field(default_factory=list)
    scenario: str | None = None
    case: str | None = None
    duration_ms: float | None = None
    repro: str = ""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def controlled(self) -> bool:
        return is_controlled(self.kind)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def expected(self) -> bool:
        return self.controlled and (not self.allowed or self.kind in self.allowed)

    @property
    def ok(self) -> bool:
        """Controlled, and an outcome the scenario allows."""
        return self.expected

    @property
    def headline(self) -> Finding:
        return self.findings[0]

    def findings_of(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def has(self, kind: str) -> bool:
        return any(f.kind == kind for f in self.findings)

    def explain(self) -> str:
        """Several lines for a terminal or an assertion message."""
        where = " / ".join(x for x in (self.scenario, self.case) if x)
        state = "controlled" if self.controlled else "UNCONTROLLED"
        if self.controlled and not self.expected:
            state = f"controlled, but not an allowed outcome (allowed: {', '.join(self.allowed)})"
        lines = [f"verdict {self.kind} ({state}){f' in {where}' if where else ''}"]
        lines.extend(f"  - {f.line()}" for f in self.findings)
        if self.repro:
            lines.append(f"  reproduce: {self.repro}")
        return "\n".join(lines)


def verdict_of(findings: list[Finding], **fields: Any) -> Verdict:
    """The verdict headed by the worst of ``findings`` (all kept, worst first, stable)."""
    if not findings:
        raise ValueError("a verdict needs at least one finding")
    ordered = sorted(findings, key=lambda f: severity(f.kind))
    return Verdict(kind=ordered[0].kind, findings=ordered, **fields)
