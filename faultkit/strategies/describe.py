"""Fault schedules in words, and the report printed when one breaks the system under test.

A shrunk failing plan is only useful if a person can read it at a glance ("call 2 of openai →
429 retry-after 1s; call 3 of openai → stream cut inside event 3") and keep it: the report holds
that summary, the plan as a scenario file to save under ``scenarios/`` as a regression test,
and the command that reproduces the failure.
"""

from __future__ import annotations

from faultkit.faults import Fault
from faultkit.scenario import Rule, Scenario, When

ARROW = "→"


def _num(value: float) -> str:
    return f"{value:g}"


def describe_fault(fault: Fault) -> str:
    """One fault in a few words (``429 retry-after 1s``), as its module words it
    (:meth:`~faultkit.faults.base.Fault.describe`)."""
    return fault.describe()


def describe_when(when: When, route: str | None) -> str:
    """``call 2 of openai``, ``calls 1-3 of orders*``, ``every call of any route``."""
    of = f" of {route}" if route else ""
    parts: list[str] = []
    span = when.call_range()
    if when.nth is not None:
        parts.append(f"call {when.nth}{of}")
    elif span is not None:
        parts.append(
            f"call {span[0]}{of}" if span[0] == span[1] else f"calls {span[0]}-{span[1]}{of}"
        )
    elif when.every is not None:
        parts.append(f"every {when.every}th call{of}")
    elif when.after is not None:
        parts.append(f"calls after {when.after}{of}")
    else:
        parts.append(f"every call{of}" if route else "every call")
    if when.nth is not None and span is not None:
        parts.append(f"within calls {span[0]}-{span[1]}")
    if when.window_ms is not None:
        parts.append(f"between {_num(when.window_ms[0])} and {_num(when.window_ms[1])} ms")
    if when.probability < 1:
        parts.append(f"with probability {_num(when.probability)}")
    return ", ".join(parts)


def describe_rule(rule: Rule) -> str:
    """``call 2 of openai → 429 retry-after 1s``."""
    return f"{describe_when(rule.when, _route_label(rule))} {ARROW} {describe_fault(rule.fault)}"


def _route_label(rule: Rule) -> str | None:
    """What the rule targets, in words: a route, a tool, a provider, any tool route, a path;
    ``(streamed)`` after it when only streamed calls count."""
    match = rule.match
    kind = {"tool": "any tool", "provider": "any provider"}.get(match.kind or "")
    labels = (match.route, match.tool, match.provider, kind, match.path)
    label = next((x for x in labels if x), None)
    if match.stream:
        return f"{label} (streamed)" if label else "streamed calls"
    return label


def summarize(scenario: Scenario) -> str:
    """The schedule in one line, rules in order; ``no faults`` for the empty plan."""
    if not scenario.rules:
        return "no faults"
    return "; ".join(describe_rule(rule) for rule in scenario.rules)


def failure_report(
    scenario: Scenario,
    *,
    repro: str | None = None,
    verdict: str | None = None,
    save_as: str | None = None,
    saved: bool = False,
) -> str:
    """What to print when ``scenario`` broke the system under test: the verdict (if given),
    the schedule in words, the scenario file to keep as a regression (``saved``: it was
    already written to ``save_as``), and the repro command."""
    target = save_as or f"scenarios/{scenario.name}.yaml"
    lines: list[str] = []
    if verdict:
        lines.extend([verdict, ""])
    lines.append(f"minimal failing fault schedule: {summarize(scenario)}")
    lines.append("")
    if saved:
        lines.append(f"as a scenario (saved as {target}; keep it as a regression test):")
    else:
        lines.append(f"as a scenario (save it as {target} to keep it as a regression test):")
    lines.append("")
    lines.extend("    " + line for line in scenario.to_yaml().rstrip("\n").splitlines())
    if repro:
        lines.extend(["", f"reproduce: {repro}"])
    return "\n".join(lines)


__all__ = [
    "describe_fault",
    "describe_rule",
    "describe_when",
    "failure_report",
    "summarize",
]
