"""Reading the ledger the way the checks need it: which exchanges failed and how, which were
tools, which attempts belong together, what the server said about retrying.

Everything here is a pure function of ledger entries. Fault names and parameters are those of
``faultkit/faults/*`` (``http_error.status``/``retry_after_s``/``retry_after_ms``/``error_type``/
``should_retry``, ``timeout``, ``reset``, ``malformed_body``...).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from typing import Any

from faultkit.formats.detect import PROVIDER_OF, WireFormat
from faultkit.ledger import AppliedFault, LedgerEntry

PROVIDER_FORMATS = frozenset(f.value for f in PROVIDER_OF)

# Faults after which the exchange delivered no usable answer at all (the transport or the
# framing broke). A client may legitimately retry these, and must back off when it does.
FAILURE_FAULTS = frozenset({"http_error", "timeout", "reset", "malformed_body", "broken_sse"})
# Faults that only change timing; the exchange's ending says whether the client gave up.
TIMING_FAULTS = frozenset({"latency", "slow_first_token", "stall"})
FAILED_ENDINGS = frozenset({"reset", "timeout", "client_closed", "error", "unmatched"})

# Statuses no retry can fix (the request itself is wrong, or the caller may not make it).
NON_RETRYABLE_STATUSES = frozenset({400, 401, 403, 404, 422})
QUOTA_CODES = ("insufficient_quota", "enforced_spend_limit_reached", "billing_hard_limit_reached")


def is_tool(entry: LedgerEntry, tool_routes: list[str] | None) -> bool:
    """A tool exchange: its route is declared a tool route, or (by default) it does not speak a
    provider wire format."""
    if tool_routes is not None:
        return any(fnmatch.fnmatchcase(entry.route, g) for g in tool_routes)
    return entry.format not in PROVIDER_FORMATS


def is_provider(entry: LedgerEntry, tool_routes: list[str] | None) -> bool:
    return not is_tool(entry, tool_routes)


def mcp_is_error(entry: LedgerEntry) -> bool:
    """A fault made an MCP tool result an error (``result.isError: true``)."""
    # Only what a fault actually did counts: `is_error: true` on a plain JSON tool sets nothing.
    for fault in entry.faults:
        for alt in fault.alterations:
            if alt.path.replace("]", "").endswith("isError") and alt.value is True:
                return True
    return entry.format == WireFormat.mcp.value and entry.error == "isError"


def failure_reason(entry: LedgerEntry) -> str | None:
    """Why ``entry`` did not deliver a usable answer, or None when it did."""
    if entry.status is not None and entry.status >= 400:
        return f"HTTP {entry.status}"
    if entry.ending in FAILED_ENDINGS:
        return f"ended by {entry.ending}" + (f" ({entry.error})" if entry.error else "")
    for fault in entry.faults:
        if fault.type in FAILURE_FAULTS:
            return f"{fault.type} fault"
    if mcp_is_error(entry):
        return "MCP tool result isError"
    return None


def failed(entry: LedgerEntry) -> bool:
    return failure_reason(entry) is not None


def degradation(entry: LedgerEntry) -> str | None:
    """Why ``entry``'s answer could not be trusted: a failure, or a fault that changed its
    meaning (schema drift, partial tool data, a broken tool call). A fallback after either is a
    controlled reaction; a retry is only owed backoff after a failure."""
    reason = failure_reason(entry)
    if reason is not None:
        return reason
    for fault in entry.faults:
        if fault.type not in TIMING_FAULTS:
            return f"{fault.type} fault"
    return None


def logical_calls(entries: Iterable[LedgerEntry]) -> dict[tuple[str, int], list[LedgerEntry]]:
    """Entries grouped by (route, logical call), each group in attempt order."""
    groups: dict[tuple[str, int], list[LedgerEntry]] = {}
    for entry in entries:
        groups.setdefault((entry.route, entry.logical_call), []).append(entry)
    for group in groups.values():
        group.sort(key=lambda e: (e.attempt, e.arrival_ms, e.id))
    return groups


def faults_of(entry: LedgerEntry, *types: str) -> list[AppliedFault]:
    return [f for f in entry.faults if f.type in types]


def retry_after_ms(entry: LedgerEntry) -> float | None:
    """How long the server asked the client to wait before retrying, in ms (None: it did not).
    ``retry-after-ms`` wins over ``retry-after``, as in the OpenAI and Anthropic SDKs. The engine
    reads it off the response head it planned, whether a fault or a recording supplied it."""
    if entry.status is not None:
        # The engine read it off the response that was actually sent; a fault a later one
        # replaced asked for nothing.
        return entry.retry_after_ms
    for fault in faults_of(entry, "http_error"):
        ms = fault.params.get("retry_after_ms")
        if isinstance(ms, int | float):
            return float(ms)
        seconds = fault.params.get("retry_after_s")
        if isinstance(seconds, int | float):
            return float(seconds) * 1000
    return None


def non_retryable_reason(entry: LedgerEntry) -> str | None:
    """Why retrying ``entry``'s request cannot help, or None when a retry is legitimate."""
    for fault in faults_of(entry, "http_error"):
        if fault.params.get("status") != entry.status:
            continue  # a later fault replaced this error: the client never saw it
        if fault.params.get("should_retry") is False:
            return f"the server sent x-should-retry: false with HTTP {entry.status}"
        code = _quota_code(fault.params)
        # The quota code is in the body: a client whose body was cut never learnt it.
        if code is not None and entry.status == 429 and entry.ending == "completed":
            return f"HTTP 429 {code}: the quota is exhausted, a retry cannot succeed"
    if entry.status in NON_RETRYABLE_STATUSES:
        return f"HTTP {entry.status} is a client error a retry cannot fix"
    return None


def _quota_code(params: dict[str, Any]) -> str | None:
    for value in params.values():
        if isinstance(value, str):
            for code in QUOTA_CODES:
                if code in value:
                    return code
    return None


def gap_ms(previous: LedgerEntry, following: LedgerEntry) -> float:
    """Time between the end of ``previous`` (its arrival, when the end is unknown) and the
    arrival of ``following``: how long the client waited before trying again."""
    end = previous.end_ms if previous.end_ms is not None else previous.arrival_ms
    return following.arrival_ms - end


def glob_any(value: str | None, patterns: Iterable[str]) -> bool:
    return value is not None and any(fnmatch.fnmatchcase(value, p) for p in patterns)
