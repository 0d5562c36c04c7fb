"""The checks, found by looking: every module in this folder (but ``base`` and ``_private``
ones) holds one :class:`~faultkit.oracle.checks.base.Check` named ``CHECK``, and the tables
the rest of faultkit reads are derived from them here, once:

- :data:`CHECKS`: every check, worst kind first. The judge runs them all; the verdict sorts
  the findings by severity, so the order only decides how ``docs/oracle.md`` lists them.
- :data:`KINDS`: every verdict kind by name; :data:`SEVERITY`, worst first;
  :data:`CONTROLLED_KINDS` and :data:`UNJUDGED_KINDS`; :data:`VerdictKind`, a ``Literal``
  (handed to :mod:`faultkit.oracle.verdict`, which the check modules import for ``Finding``
  and so cannot import them back).

Modules are found with :mod:`pkgutil` rather than listed, so a new verdict module is judged
the moment it exists; a module without ``CHECK``, or one whose kinds clash with another's
(a name or a severity used twice, a controlled kind ranked above an uncontrolled one), stops
the import with a message naming it.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Literal

from faultkit.oracle import verdict
from faultkit.oracle.checks.base import Check, CheckError, Kind

_SKIP = frozenset({"base"})


def _discover() -> tuple[Check, ...]:
    found: list[Check] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name in _SKIP or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        check = getattr(module, "CHECK", None)
        if not isinstance(check, Check):
            raise CheckError(
                f"{module.__name__}: a module in faultkit/oracle/checks/ must define "
                "CHECK = Check(...) (prefix a helper module's name with _)"
            )
        found.append(check)
    return tuple(sorted(found, key=lambda c: (min(k.severity for k in c.kinds), c.name)))


def _kinds(checks: tuple[Check, ...]) -> dict[str, Kind]:
    kinds: dict[str, Kind] = {}
    owner: dict[int, str] = {}
    for check in checks:
        for kind in check.kinds:
            if kind.name in kinds:
                raise CheckError(f"verdict kind {kind.name!r} is declared twice ({check.name})")
            if kind.severity in owner:
                raise CheckError(
                    f"{kind.name} ({check.name}) and {owner[kind.severity]} share severity "
                    f"{kind.severity}; give one a free number in its band"
                )
            kinds[kind.name] = kind
            owner[kind.severity] = kind.name
    ordered = sorted(kinds.values(), key=lambda k: k.severity)
    controlled = [i for i, k in enumerate(ordered) if k.group == "controlled"]
    if controlled and controlled != list(range(controlled[0], len(ordered))):
        raise CheckError("every controlled verdict kind must rank below every other kind")
    return {k.name: k for k in ordered}


CHECKS: tuple[Check, ...] = _discover()
KINDS: dict[str, Kind] = _kinds(CHECKS)
SEVERITY: tuple[str, ...] = tuple(KINDS)
CONTROLLED_KINDS: frozenset[str] = frozenset(n for n, k in KINDS.items() if k.group == "controlled")
# Neither controlled nor uncontrolled: the cell did not test the SUT (no fault fired), or the
# harness failed (no recording). Reports count them apart from the SUT's verdicts.
UNJUDGED_KINDS: frozenset[str] = frozenset(n for n, k in KINDS.items() if k.group == "unjudged")
VerdictKind = Literal[SEVERITY]  # type: ignore[valid-type]
# Every ledger fact some check reads: what both doors must record.
NEEDED_FACTS: frozenset[str] = frozenset().union(*(c.needs for c in CHECKS))
verdict.declare_kinds(SEVERITY, CONTROLLED_KINDS, UNJUDGED_KINDS, VerdictKind)

__all__ = [
    "CHECKS",
    "CONTROLLED_KINDS",
    "KINDS",
    "NEEDED_FACTS",
    "SEVERITY",
    "UNJUDGED_KINDS",
    "Check",
    "Kind",
    "VerdictKind",
]
