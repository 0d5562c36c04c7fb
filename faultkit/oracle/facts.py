"""Reading the ledger the way the checks need it: which exchanges failed and how, which were
tools, which attempts belong together, what the server said about retrying.

Everything here is a pure function of ledger entries. What counts as a failed or degraded
exchange is defined once, in :mod:`faultkit.ledger` (which groups attempts by it), and
re-exported here. Fault names and parameters are those of
``faultkit/faults/*`` (``http_error.status``/``retry_after_s``/``retry_after_ms``/``error_type``/
``should_retry``, ``timeout``, ``reset``, ``malformed_body``...).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from faultkit.faults import MEANING_FAULTS
from faultkit.ledger import (
    FAILED_ENDINGS,
    PROVIDER_FORMATS,
    AppliedFault,
    LedgerEntry,
    failure_reason,
)
from faultkit.ledger import degradation as degradation
from faultkit.ledger import mcp_is_error as mcp_is_error

# Statuses no retry can fix: the caller may not make the request, whatever it asks...
FORBIDDEN_STATUSES = frozenset({401, 403})
# ...or the request itself is wrong: only a changed request (a re-ask) can fix it.
BAD_REQUEST_STATUSES = frozenset({400, 404, 422})
# Client-error statuses that say "later", not "never" (the SDKs retry them, as they do 5xx).
TRANSIENT_STATUSES = frozenset({408, 409, 429})
# Failure faults that deliver a body the client cannot use (rather than no body, or an error).
BROKEN_BODY_FAULTS = frozenset({"malformed_body", "broken_sse"})
QUOTA_CODES = ("insufficient_quota", "enforced_spend_limit_reached", "billing_hard_limit_reached")
# The ledger facts :func:`failed`, :func:`failure_reason` and :func:`degradation` read: a
# check that asks whether an exchange failed needs them (its ``Check.needs``).
FAILURE_FACTS = frozenset({"status", "ending", "error", "faults", "format"})


def is_tool(entry: LedgerEntry, tool_routes: list[str] | None) -> bool:
    """A tool exchange: its route is declared a tool route, or (by default) it does not speak a
    provider wire format."""
    if tool_routes is not None:
        return any(fnmatch.fnmatchcase(entry.route, g) for g in tool_routes)
    return entry.format not in PROVIDER_FORMATS


def failed(entry: LedgerEntry) -> bool:
    return failure_reason(entry) is not None


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


def non_retryable_reason(entry: LedgerEntry, *, changed: bool = False) -> str | None:
    """Why retrying ``entry``'s request cannot help, or None when a retry is legitimate.
    ``changed``: the retry asked something else (a re-ask). A 400/404/422 says the request was
    wrong, so a changed request is a fix, not a blind retry; an exhausted quota, a refused
    caller and ``x-should-retry: false`` hold whatever is asked. Read from what the answer said
    (the ledger's ``should_retry`` and ``error_code``), so a recorded quota error counts as an
    injected one does."""
    status = entry.status
    if status is None or status < 400:
        return None
    if entry.should_retry is False:
        return f"the server sent x-should-retry: false with HTTP {status}"
    # The quota code is in the body: a client whose body was cut never learnt it.
    if entry.error_code in QUOTA_CODES and status == 429 and entry.ending == "completed":
        return f"HTTP 429 {entry.error_code}: the quota is exhausted, a retry cannot succeed"
    if status in FORBIDDEN_STATUSES or (status in BAD_REQUEST_STATUSES and not changed):
        return f"HTTP {status} is a client error a retry cannot fix"
    return None


def backoff_reason(entry: LedgerEntry) -> str | None:
    """Why a retry after ``entry`` owes the upstream a wait, or None. It does after the
    statuses the SDKs retry (408, 409, 429, 5xx), a gateway's error page, or an exchange that
    broke off (reset, timeout, the client giving up): signs of an upstream in trouble, which
    immediate retries turn into a storm. A request the server rejected (400, 422...) may be
    fixed and sent at once, and an answer that arrived but was unusable (malformed JSON,
    drifted, a stream without its terminator) says nothing about the upstream's load:
    re-asking at once, as frameworks do after invalid output, is fine."""
    status = entry.status
    if status is not None and (status in TRANSIENT_STATUSES or status >= 500):
        return f"HTTP {status}"
    if any(f.params.get("kind") == "html_200" for f in faults_of(entry, "malformed_body")):
        return "a gateway's error page"
    if entry.ending in FAILED_ENDINGS and not rejected_by_client(entry):
        return f"ended by {entry.ending}"
    return None


def rejected_by_client(entry: LedgerEntry) -> bool:
    """The client hung up on an answer it had started to read because what it read was
    broken or altered (malformed JSON, a broken SSE line, drifted data): the server answered,
    and is not in trouble. Whether the door saw that hang-up (``client_closed``) or the whole
    body already sat in the socket buffer (``completed``) depends on buffering, so a re-ask
    after either is judged alike. A client that gave up *waiting* (a timing fault, a timeout)
    or a transport that broke (a reset) still owes the upstream a backoff."""
    if entry.ending != "client_closed" or entry.status is None or entry.status >= 400:
        return False
    return bool(entry.faults) and all(
        f.type in BROKEN_BODY_FAULTS or f.type in MEANING_FAULTS for f in entry.faults
    )


def gap_ms(previous: LedgerEntry, following: LedgerEntry) -> float:
    """Time between the end of ``previous`` (its arrival, when the end is unknown) and the
    arrival of ``following``: how long the client waited before trying again."""
    end = previous.end_ms if previous.end_ms is not None else previous.arrival_ms
    return following.arrival_ms - end


def glob_any(value: str | None, patterns: Iterable[str]) -> bool:
    return value is not None and any(fnmatch.fnmatchcase(value, p) for p in patterns)
