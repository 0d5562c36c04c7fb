"""Verdicts: what the oracle concluded about one run of the system under test, and why.

A run can show several things at once (it retried, then fell back, then leaked an invalid
answer). Each is a :class:`Finding` with its evidence; the :class:`Verdict` is headed by the
worst finding and lists them all, so a report shows the headline and a reader can still see
everything that happened.

Severity, worst first (:data:`SEVERITY`), and why:

0. ``harness_error`` — faultkit itself could not run the cell as written (a request with no
   recording, a broken cassette): nothing can be said about the SUT, and the run fails.
1. ``unknown_as_known``, ``silent_tool_failure``, ``invalid_output_leaked``,
   ``truncated_output_accepted`` — a wrong, unfounded or incomplete answer reached the user *as
   if it were fine*. Nobody notices, so these do the most harm.
2. ``crash``, ``hang`` — no answer at all. Visible and bad, but at least not misleading.
3. ``retry_storm``, ``retried_non_retryable``, ``retry_after_ignored`` — the answer may be fine,
   but the system hurts the upstream (and its own quota and bill) while getting it.
4. ``untraceable`` — the behaviour may be fine but cannot be audited.
5. ``not_exercised`` — no fault fired, so a controlled-looking outcome proves nothing. It is
   neither controlled nor uncontrolled, and outranks every controlled outcome so that a cell
   whose faults never fired can never read ``pass``.
6. Controlled outcomes, most degraded first: ``controlled_error``, ``fallback``, ``retried``,
   ``pass``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

VerdictKind = Literal[
    "pass",
    "retried",
    "fallback",
    "controlled_error",
    "crash",
    "hang",
    "retry_storm",
    "retry_after_ignored",
    "retried_non_retryable",
    "invalid_output_leaked",
    "unknown_as_known",
    "silent_tool_failure",
    "untraceable",
    "truncated_output_accepted",
    "not_exercised",
    "harness_error",
]

CONTROLLED_KINDS: frozenset[str] = frozenset({"pass", "retried", "fallback", "controlled_error"})
# Neither controlled nor uncontrolled: the cell did not test the SUT (no fault fired), or the
# harness failed (no recording). Reports count them apart from the SUT's verdicts.
UNJUDGED_KINDS: frozenset[str] = frozenset({"not_exercised", "harness_error"})

SEVERITY: tuple[VerdictKind, ...] = (
    "harness_error",
    "unknown_as_known",
    "silent_tool_failure",
    "invalid_output_leaked",
    "truncated_output_accepted",
    "crash",
    "hang",
    "retry_storm",
    "retried_non_retryable",
    "retry_after_ignored",
    "untraceable",
    "not_exercised",
    "controlled_error",
    "fallback",
    "retried",
    "pass",
)
_RANK = {kind: i for i, kind in enumerate(SEVERITY)}


def severity(kind: str) -> int:
    """Rank of ``kind``: 0 is the worst."""
    return _RANK[kind]


def is_controlled(kind: str) -> bool:
    return kind in CONTROLLED_KINDS


def is_uncontrolled(kind: str) -> bool:
    """An uncontrolled verdict about the SUT (not ``not_exercised`` or ``harness_error``)."""
    return kind not in CONTROLLED_KINDS and kind not in UNJUDGED_KINDS


class Finding(BaseModel):
    """One thing the oracle saw, with the evidence a reader needs to check it.

    ``entry_ids`` point into the ledger; ``values`` holds the facts the conclusion rests on
    (attempt counts, statuses, the leaked value and where it appeared); ``timings_ms`` the
    durations and gaps; ``summary`` says it in one sentence.
    """

    model_config = ConfigDict(frozen=True)

    kind: VerdictKind
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

    kind: VerdictKind
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
