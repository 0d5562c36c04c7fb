"""``unknown_as_known``: a value a partial-data fault took away from a tool's answer appears in
the SUT's answer as fact.

The replayed model answer was recorded with the complete tool data, so a SUT that does not check
what its tools actually returned passes the recorded values on. The ledger's alterations hold
the originals; each is searched in the answer (not in the trace) by the rule of
:mod:`faultkit.oracle.values`. What counts as taken away, per alteration ``action``:

* ``removed`` / ``nulled``: the original value;
* ``replaced``: the original, when the new value differs (a value swapped for a placeholder);
* ``truncated``: for a cut list, the items no longer in it; for a cut string, the original.

``isError`` flags are not data and are skipped. A value the SUT had without the tool is not
counted: one found (by the same rule) in what it was asked (``result.inputs``) or in the URL it
called the tool with (``/orders/1042`` -> ``1042``).
"""

from __future__ import annotations

from typing import Any

from faultkit.faults.base import Alteration
from faultkit.ledger import LedgerEntry
from faultkit.oracle.context import Context
from faultkit.oracle.facts import faults_of
from faultkit.oracle.values import field_name, find, same_value
from faultkit.oracle.verdict import Finding

DATA_LOSS_FAULTS = ("partial_tool_data",)


def lost_value(alt: Alteration) -> Any:
    """What ``alt`` took away (None when nothing)."""
    if alt.path.replace("]", "").endswith("isError"):
        return None
    if alt.action in ("removed", "nulled"):
        return alt.original
    if alt.action == "replaced":
        return None if same_value(alt.original, alt.value) else alt.original
    if alt.action == "truncated":
        if isinstance(alt.original, list):
            kept = alt.value if isinstance(alt.value, list) else []
            return [item for item in alt.original if item not in kept]
        return alt.original if isinstance(alt.original, str) else None
    return None


def lost_values(entries: list[LedgerEntry]) -> list[tuple[LedgerEntry, Alteration, Any]]:
    out = []
    for entry in entries:
        for fault in faults_of(entry, *DATA_LOSS_FAULTS):
            for alt in fault.alterations:
                lost = lost_value(alt)
                if lost not in (None, [], {}, ""):
                    out.append((entry, alt, lost))
    return out


def check(ctx: Context) -> list[Finding]:
    if ctx.outcome != "answer":
        return []
    hits: list[dict[str, Any]] = []
    ids: list[int] = []
    given = [ctx.result.inputs, [e.url for e in ctx.entries]]
    for entry, alt, lost in lost_values(ctx.entries):
        for hit in find(ctx.answer, lost, field_name(alt.path)):
            if find(given, hit.searched, hit.field):
                continue
            hits.append(
                {
                    "entry": entry.id,
                    "route": entry.route,
                    "path": alt.path,
                    "action": alt.action,
                    "value": hit.searched,
                    "found_at": hit.path,
                    "found": hit.found,
                    "how": hit.how,
                }
            )
            if entry.id not in ids:
                ids.append(entry.id)
    if not hits:
        return []
    first = hits[0]
    more = f" (+{len(hits) - 1} more)" if len(hits) > 1 else ""
    return [
        Finding(
            kind="unknown_as_known",
            summary=f"{first['value']!r}, which the tool on {first['route']} never delivered "
            f"({first['path']} {first['action']} in #{first['entry']}), appears in the answer "
            f"at {first['found_at'] or '(root)'}{more}",
            entry_ids=ids,
            values={"leaked": hits},
        )
    ]
