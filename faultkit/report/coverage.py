"""Fault coverage: which fault types were exercised on which route and wire format.

A fault is *exercised* on (route, format) when the ledger shows it applied to an exchange of
that route and format in some cell; *skipped* when it fired but did not apply there (a stream
fault on a JSON body); a declared rule that never fired at all (its route was never called:
the anthropic rules against an OpenAI-only app) is listed as *not exercised*. Rows cover every
registered fault type, so the types no scenario uses show up as gaps too.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from faultkit.faults import FAULTS
from faultkit.runner.model import RuleInfo, RunReport

RouteFormat = tuple[str, str]  # (route, wire format): a column of the coverage matrix


@dataclass
class Coverage:
    faults: list[str]
    columns: list[RouteFormat]
    applied: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    skipped: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    never_fired: list[tuple[str, str, str, str]] = field(default_factory=list)

    def state(self, fault: str, column: RouteFormat) -> str:
        """``exercised``, ``skipped`` or ``no`` for one cell of the matrix."""
        key = (fault, *column)
        if self.applied[key]:
            return "exercised"
        if self.skipped[key]:
            return "skipped"
        return "no"


def _match_text(rule: RuleInfo) -> str:
    """The route a rule matches, or its other match fields (``provider=openai``), or ``*``."""
    if rule.route is not None:
        return rule.route
    return ", ".join(f"{k}={v}" for k, v in rule.match.items()) or "*"


def coverage(report: RunReport) -> Coverage:
    applied: Counter[tuple[str, str, str]] = Counter()
    skipped: Counter[tuple[str, str, str]] = Counter()
    columns: set[RouteFormat] = set()
    fired: set[tuple[str, str]] = set()  # (scenario, rule)
    for cell in report.cells:
        for entry in cell.ledger:
            column = (entry.route, entry.format)
            columns.add(column)
            for fault in entry.faults:
                applied[(fault.type, *column)] += 1
                fired.add((cell.scenario, fault.rule))
            for skip in entry.skipped:
                skipped[(skip.type, *column)] += 1
                fired.add((cell.scenario, skip.rule))
    never: list[tuple[str, str, str, str]] = []
    for info in report.scenarios:
        for rule in info.rules:
            if (info.name, rule.name) not in fired:
                never.append((info.name, rule.name, rule.fault, _match_text(rule)))
    declared = {r.fault for s in report.scenarios for r in s.rules}
    faults = sorted(set(FAULTS) | declared)
    return Coverage(
        faults=faults,
        columns=sorted(columns),
        applied=applied,
        skipped=skipped,
        never_fired=never,
    )
