"""What a verdict module declares, so that nothing else has to list it.

A check module in this folder holds one :class:`Check` named ``CHECK``: the verdict kinds it
can find (each with its severity and its group), the ledger facts it reads, and the function
that looks. :mod:`faultkit.oracle.checks` finds the modules and derives from them everything
that used to be kept by hand elsewhere: ``VerdictKind``, ``SEVERITY``, the controlled and
unjudged sets and the judge's list of checks. Adding a verdict is one module here plus one test.

Severity is a number, lower is worse, unique across all kinds. The bands below are the
ranking of ``docs/oracle.md`` ("The worst finding wins"); a new kind takes a free number in its
band (``MISLEADING + 5``), and the registry refuses two kinds with the same number.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from faultkit.errors import FaultkitError
from faultkit.ledger import LedgerEntry

if TYPE_CHECKING:
    from faultkit.oracle.context import Context
    from faultkit.oracle.verdict import Finding

Group = Literal["controlled", "uncontrolled", "unjudged"]

# Severity bands, worst first.
HARNESS = 0  # faultkit could not run the cell: nothing is known about the SUT
ACTED = 5  # the SUT did something in the world it must not (a forbidden tool, a repeated payment)
MISLEADING = 10  # a wrong or incomplete answer reached the user as if it were fine
NO_ANSWER = 20  # no answer at all: visible, but not misleading
HURTS_UPSTREAM = 30  # the answer may be fine, the upstream paid for it
UNAUDITABLE = 40  # the behaviour may be fine but cannot be audited
UNTESTED = 50  # no fault fired: outranks every controlled kind, so it never reads "pass"
CONTROLLED = 60  # controlled outcomes, most degraded first
BANDS = (HARNESS, ACTED, MISLEADING, NO_ANSWER, HURTS_UPSTREAM, UNAUDITABLE, UNTESTED, CONTROLLED)


def band(severity: int) -> int:
    """The band a severity falls in (``MISLEADING + 3`` -> ``MISLEADING``)."""
    return max(b for b in BANDS if b <= severity)


LEDGER_FACTS = frozenset(f.name for f in dataclasses.fields(LedgerEntry))


class CheckError(FaultkitError):
    """A check module declares something inconsistent (a programming error in faultkit)."""


@dataclass(frozen=True)
class Kind:
    """One verdict kind: its name (as reports and ``expect.outcomes`` write it), its severity
    (see the bands above) and whether it says the SUT was controlled, uncontrolled, or
    nothing about the SUT at all (``unjudged``)."""

    name: str
    severity: int
    group: Group


@dataclass(frozen=True)
class Check:
    """One family of findings. ``needs`` names the :class:`~faultkit.ledger.LedgerEntry`
    fields it reads (directly or through :mod:`faultkit.oracle.facts`): the facts both doors
    must record for it to judge live traffic; ``id`` is implied, since every finding points at
    its entries. ``run`` may only return findings of ``kinds``."""

    kinds: tuple[Kind, ...]
    needs: frozenset[str]
    run: Callable[[Context], list[Finding]]

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", frozenset(self.needs | {"id"}))
        unknown = sorted(self.needs - LEDGER_FACTS)
        if unknown:
            raise CheckError(f"{self.name}: needs unknown ledger facts {unknown}")
        if not self.kinds:
            raise CheckError(f"{self.name}: declares no verdict kind")

    @property
    def name(self) -> str:
        """The module's name (``retries``), as ``docs/oracle.md`` lists the checks."""
        return self.run.__module__.rsplit(".", 1)[-1]

    def __call__(self, ctx: Context) -> list[Finding]:
        findings = self.run(ctx)
        declared = {kind.name for kind in self.kinds}
        stray = sorted({f.kind for f in findings} - declared)
        if stray:
            raise CheckError(f"check {self.name} found {stray}, which it does not declare")
        return findings
