"""``silent_tool_failure``: a tool call failed, yet the SUT answered with tool-derived facts and
no sign that anything went wrong.

A tool call failed when its logical call's last attempt failed (HTTP error, timeout, reset,
malformed body, MCP ``isError``) and no later call on the same route or on a declared fallback
route succeeded. Then the answer is silent when:

* with ``tool_fields`` declared in the contract: one of those fields holds a value that is not
  null, empty or an unknown marker (``"unknown"``, ``"unavailable"``...) — a fact the SUT could
  not have had;
* without ``tool_fields``: the answer is non-empty and no text in it carries an unknown or
  error marker. This is the conservative reading; declaring ``tool_fields`` makes it precise.
"""

from __future__ import annotations

import re
from typing import Any

from faultkit.formats.jsonpath import JsonPathError, expand, find_key, get, walk
from faultkit.ledger import LedgerEntry
from faultkit.oracle.checks.base import MISLEADING, Check, Kind
from faultkit.oracle.context import Context
from faultkit.oracle.facts import FAILURE_FACTS, failed, failure_reason, glob_any, logical_calls
from faultkit.oracle.verdict import Finding

SILENT_TOOL_FAILURE = Kind("silent_tool_failure", MISLEADING + 1, "uncontrolled")


def unrecovered_failures(ctx: Context) -> list[LedgerEntry]:
    """The last attempt of every tool call that failed and was not made good later."""
    tools = ctx.tool_entries
    out = []
    for (route, _), group in logical_calls(tools).items():
        last = group[-1]
        if not failed(last):
            continue
        recovered = any(
            e.id > last.id
            and not failed(e)
            and (e.route == route or glob_any(e.route, ctx.fallback_routes))
            for e in tools
        )
        if not recovered:
            out.append(last)
    return sorted(out, key=lambda e: e.id)


def marker_pattern(markers: list[str]) -> re.Pattern[str] | None:
    if not markers:
        return None
    alts = sorted((re.escape(m) for m in markers), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alts) + r")(?!\w)", re.IGNORECASE)


def is_marker(value: Any, pattern: re.Pattern[str] | None) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return True
    return isinstance(value, str) and pattern is not None and bool(pattern.search(value))


def tool_facts(answer: Any, fields: list[str], pattern: re.Pattern[str] | None) -> dict[str, Any]:
    """Declared tool fields of ``answer`` that hold a fact (not null/empty/marker)."""
    facts: dict[str, Any] = {}
    for spec in fields:
        try:
            paths = find_key(answer, spec) if _bare(spec) else expand(answer, spec)
        except JsonPathError:
            paths = []
        for parts in paths:
            value = get(answer, parts)
            if not is_marker(value, pattern):
                facts[".".join(map(str, parts))] = value
    return facts


def _bare(spec: str) -> bool:
    return re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", spec) is not None


def check(ctx: Context) -> list[Finding]:
    if ctx.outcome != "answer":
        return []
    failures = unrecovered_failures(ctx)
    if not failures:
        return []
    pattern = marker_pattern(ctx.contract.unknown_markers)
    answer = ctx.answer
    if ctx.contract.tool_fields:
        facts = tool_facts(answer, ctx.contract.tool_fields, pattern)
        if not facts:
            return []
        shown = ", ".join(f"{k}={v!r}" for k, v in list(facts.items())[:3])
        detail = f"tool-derived fields hold values: {shown}"
    else:
        texts = [v for _, v in walk(answer) if isinstance(v, str)]
        flagged = any(pattern is not None and pattern.search(t) for t in texts)
        empty = all(is_marker(v, None) for _, v in walk(answer) if not isinstance(v, dict | list))
        if flagged or empty:
            return []
        facts = {}
        detail = "the answer carries content and no unknown/error marker"
    first = failures[0]
    routes = sorted({e.route for e in failures})
    return [
        Finding(
            kind="silent_tool_failure",
            summary=f"the tool call on {first.route} failed ({failure_reason(first)}, "
            f"#{first.id}) yet the SUT answered as if it had not: {detail}",
            entry_ids=[e.id for e in failures],
            values={
                "failed_routes": routes,
                "failures": {str(e.id): failure_reason(e) for e in failures},
                "facts": facts,
            },
        )
    ]


CHECK = Check(
    kinds=(SILENT_TOOL_FAILURE,),
    needs=frozenset({"id", "route", "logical_call", "attempt", "arrival_ms", *FAILURE_FACTS}),
    run=check,
)
