"""``not_exercised``: fault rules were in force, but no fault reached the SUT.

A controlled-looking outcome proves nothing when nothing was injected: the rules matched no
request (they name another host, or the cassettes were recorded against ``127.0.0.1`` or a
gateway), no request reached faultkit at all (a response cache answered, or a client bypassed
faultkit's door), or every firing was skipped (a stream fault on a JSON body, a tool-call fault
on an answer without one). The finding names the rules with their match, the routes and wire
formats actually seen, and the skips, so a user can tell "my app handled it" from "nothing
happened" and fix the rule or the wiring.

Judged only when the caller says which rules were in force (``Context.rules``); a run with no
rules at all (a plain replay) is not a fault-injection run and is not judged here.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from faultkit.ledger import LedgerEntry
from faultkit.oracle.checks.base import UNTESTED, Check, Kind
from faultkit.oracle.context import Context
from faultkit.oracle.verdict import Finding
from faultkit.scenario import Rule, Scenario

NOT_EXERCISED = Kind("not_exercised", UNTESTED, "unjudged")

if TYPE_CHECKING:
    from faultkit.engine import Engine


def check(ctx: Context) -> list[Finding]:
    finding = unfired(ctx.entries, ctx.rules or {})
    return [finding] if finding is not None else []


def unfired(entries: Sequence[LedgerEntry], rules: Mapping[str, Rule]) -> Finding | None:
    """The ``not_exercised`` finding when ``rules`` were in force and none of them applied a
    fault to any of ``entries``; None when some fault applied, or no rule was in force."""
    if not rules or any(e.faults for e in entries):
        return None
    described = [describe_rule(label, rule) for label, rule in rules.items()]
    seen = routes_seen(entries)
    skipped = [
        {"entry": e.id, "rule": s.rule, "fault": s.type, "reason": s.reason}
        for e in entries
        for s in e.skipped
    ]
    return Finding(
        kind="not_exercised",
        summary=unfired_summary(described, seen, skipped),
        entry_ids=sorted({s["entry"] for s in skipped}),
        values={"rules": described, "routes_seen": seen, "skipped": skipped},
    )


def unfired_summary(
    rules: list[dict[str, Any]], seen: list[dict[str, Any]], skipped: list[dict[str, Any]]
) -> str:
    """One sentence: which rules, why nothing was injected, and what was seen instead."""
    names = "; ".join(r["text"] for r in rules)
    if not seen:
        return (
            f"no request reached faultkit, so no fault fired ({names}): the SUT answered "
            "without calling through faultkit (a response cache, or a client not wired to "
            "faultkit's door?)"
        )
    routes = ", ".join(f"{s['route']} ({s['format']}) x{s['requests']}" for s in seen)
    if skipped:
        skips = "; ".join(
            f"{s['rule']} ({s['fault']}) on #{s['entry']}: {s['reason']}" for s in skipped
        )
        return f"no fault applied ({names}): every firing was skipped ({skips}); seen: {routes}"
    return f"no rule matched any request ({names}); routes seen: {routes}"


def describe_rule(label: str, rule: Rule) -> dict[str, Any]:
    """A rule as the finding shows it: its label, fault, match and when, and one line of text."""
    match = rule.match.model_dump(mode="json", exclude_defaults=True)
    when = rule.when.model_dump(mode="json", exclude_defaults=True)
    where = ", ".join(f"{k}={v}" for k, v in match.items()) or "any request"
    text = f"{label}: {rule.fault.type} on {where}"
    if when:
        text += " when " + ", ".join(f"{k}={v}" for k, v in when.items())
    return {"name": label, "fault": rule.fault.type, "match": match, "when": when, "text": text}


def routes_seen(entries: Sequence[LedgerEntry]) -> list[dict[str, Any]]:
    """Each (route, wire format) the requests took, with how many, in first-seen order."""
    counts = Counter((e.route, e.format) for e in entries)
    return [{"route": r, "format": f, "requests": n} for (r, f), n in counts.items()]


def scenario_rules(scenario: Scenario) -> dict[str, Rule]:
    """A scenario's rules by the labels the ledger gives them (``rule-N`` unless named)."""
    return {scenario.rule_label(i): rule for i, rule in enumerate(scenario.rules)}


def engine_rules(engine: Engine) -> dict[str, Rule]:
    """Every rule in force on ``engine`` by its ledger label: the scenario's own, then those
    added while it ran (``faultkit.inject``: named, or ``inline-N`` by position), as
    :meth:`Engine.add_rule` labels them."""
    scenario = engine.scenario
    out: dict[str, Rule] = {}
    for i, rule in enumerate(engine.rules):
        own = i < len(scenario.rules) and rule is scenario.rules[i]
        out[scenario.rule_label(i) if own else rule.name or f"inline-{i + 1}"] = rule
    return out


CHECK = Check(
    kinds=(NOT_EXERCISED,),
    needs=frozenset({"id", "route", "format", "faults", "skipped"}),
    run=check,
)
