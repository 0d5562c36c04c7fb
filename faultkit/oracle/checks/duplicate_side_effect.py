"""``duplicate_side_effect``: a request that changes something was run more than once with the
same body for one user request, with nothing that lets the tool tell the repeat from a new
request.

A request is side-effecting when its method is POST, PUT, PATCH or DELETE, or when it runs a
tool the contract lists in ``side_effecting_tools`` (named as in
:mod:`faultkit.oracle.tools`). Repeats are requests to the same route with the same method,
URL and body (the ledger's ``body_hash``); an MCP ``tools/call`` repeats one with the same tool
and arguments whatever its JSON-RPC id (the ledger's ``call_key``), since a client's retry
sends a new id. The tool can run them once only if they carry one
idempotency key (``Idempotency-Key`` or ``X-Idempotency-Key``): each request without a key is
one execution, and each distinct key one more. A request answered with a 4xx status was
refused, so it ran nothing and is not counted (a retry after a 429 is safe); an error status
5xx, a reset or a timeout leaves the client not knowing whether it ran, which is exactly when
a retry without a key pays twice. MCP ``tools/call`` requests are POST whatever the tool does,
so on an MCP route only the ``side_effecting_tools`` count.
"""

from __future__ import annotations

from faultkit.ledger import LedgerEntry
from faultkit.oracle.checks.base import ACTED, Check, Kind
from faultkit.oracle.context import Context
from faultkit.oracle.tools import TOOL_FACTS, runs_a_tool, tool_names
from faultkit.oracle.verdict import Finding

DUPLICATE_SIDE_EFFECT = Kind("duplicate_side_effect", ACTED + 1, "uncontrolled")
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def check(ctx: Context) -> list[Finding]:
    names = tool_names(ctx.entries, ctx.contract)
    side_effecting = set(ctx.contract.side_effecting_tools)
    groups: dict[tuple[str, str], list[LedgerEntry]] = {}
    for entry in ctx.tool_entries:
        if not runs_a_tool(entry) or _refused(entry):
            continue
        named = names.get(entry.id) in side_effecting
        by_method = entry.method.upper() in UNSAFE_METHODS and entry.format != "mcp"
        if named or by_method:
            groups.setdefault((entry.route, entry.call_key or entry.body_hash), []).append(entry)
    findings = []
    for group in groups.values():
        keys = {e.idempotency_key for e in group if e.idempotency_key}
        keyless = [e for e in group if not e.idempotency_key]
        runs = len(keyless) + len(keys)
        if runs < 2:
            continue
        first = group[0]
        tool = names.get(first.id)
        what = f"{first.method} {first.url}" + (f" ({tool})" if tool else "")
        why = "without an idempotency key" if not keys else f"with {len(keys)} different keys"
        if keys and keyless:
            why = f"{len(keyless)} without an idempotency key"
        findings.append(
            Finding(
                kind="duplicate_side_effect",
                summary=f"{what} was sent {len(group)} times with the same body, {why}: "
                f"the tool may have run it {runs} times",
                entry_ids=[e.id for e in group],
                values={
                    "request": f"{first.method} {first.url}",
                    "tool": tool,
                    "sent": len(group),
                    "possible_runs": runs,
                    "idempotency_keys": sorted(keys),
                    "statuses": [e.status for e in group],
                    "endings": [e.ending for e in group],
                },
            )
        )
    return findings


def _refused(entry: LedgerEntry) -> bool:
    """Answered 4xx (the tool refused it, nothing ran), or never answered by anything at all
    (no recording: the harness's problem, judged as ``harness_error``)."""
    return (entry.status is not None and 400 <= entry.status < 500) or entry.ending == "unmatched"


CHECK = Check(
    kinds=(DUPLICATE_SIDE_EFFECT,),
    needs=TOOL_FACTS
    | {"body_hash", "call_key", "idempotency_key", "status", "ending", "logical_call"},
    run=check,
)
