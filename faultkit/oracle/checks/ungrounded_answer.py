"""``ungrounded_answer``: the SUT states a value its tool did not give it in this run, because
the tool lied and the SUT took its facts from elsewhere.

A ``lying_tool`` fault answers with plausible wrong values: a number shifted, a date moved, two
values swapped, a list emptied or shortened. The replayed model answer was recorded with the
true values, so a SUT that does not hold the model's answer to what its tools returned passes
the recorded value on: its answer states a fact with no ground in this run's evidence. The
seeds call it "the evidence is sufficient"; ``unknown_as_known`` is the same failure for data a
tool left out, this one for data a tool got wrong.

Each true value the fault replaced is searched in the answer by the rule of
:mod:`faultkit.oracle.values` (not in what the SUT was asked, nor in the URLs it called),
exactly as ``unknown_as_known`` searches lost values (one search serves both). A swapped value
is still in the tool's answer, under the other field: finding it counts only under its own
field name. Telling the user the tool's (wrong) values is grounded and never flagged: faultkit
cannot expect a SUT to know the truth its tool hid, only to say what its evidence says.
"""

from __future__ import annotations

from typing import Any

from faultkit.oracle.checks.base import MISLEADING, Check, Kind
from faultkit.oracle.checks.unknown_as_known import leaked
from faultkit.oracle.context import Context
from faultkit.oracle.facts import FAILURE_FACTS, faults_of
from faultkit.oracle.values import field_name, same_value
from faultkit.oracle.verdict import Finding

UNGROUNDED_ANSWER = Kind("ungrounded_answer", MISLEADING + 4, "uncontrolled")
LYING_FAULTS = ("lying_tool",)


def _delivered(ctx: Context) -> dict[int, list[Any]]:
    """Per ledger entry, the wrong values the tool did deliver (a swapped pair's values)."""
    out: dict[int, list[Any]] = {}
    for entry in ctx.entries:
        for fault in faults_of(entry, *LYING_FAULTS):
            out.setdefault(entry.id, []).extend(a.value for a in fault.alterations)
    return out


def check(ctx: Context) -> list[Finding]:
    if ctx.outcome != "answer":
        return []
    delivered = _delivered(ctx)
    hits = []
    for hit in leaked(ctx, LYING_FAULTS):
        still_there = any(same_value(hit["value"], v) for v in delivered.get(hit["entry"], []))
        own_field = field_name(hit["path"].split("::")[-1])
        if still_there and field_name(hit["found_at"] or "") != own_field:
            continue  # the tool did deliver this value, under another field
        hits.append(hit)
    if not hits:
        return []
    first = hits[0]
    more = f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""
    summary = (
        f"the answer states {first['value']!r} at {first['found_at'] or '(root)'}, but the tool "
        f"on {first['route']} said otherwise in this run ({first['path']} in #{first['entry']})"
    )
    return [
        Finding(
            kind="ungrounded_answer",
            summary=summary + more,
            entry_ids=list(dict.fromkeys(h["entry"] for h in hits)),
            values={"ungrounded": hits},
        )
    ]


CHECK = Check(
    kinds=(UNGROUNDED_ANSWER,),
    needs=frozenset({"id", "route", "url", "faults", "logical_call", "body_hash", *FAILURE_FACTS}),
    run=check,
)
