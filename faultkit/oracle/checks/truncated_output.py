"""``truncated_output_accepted``: the SUT returned, as a success, an answer built from a provider
stream (or body) that never completed, and nothing later replaced it.

A cut answer looks like an answer: the SDKs end a stream that closed early without an error, and
an app that catches the error of one that was reset still holds the text it had so far. Only the
ledger knows the rest never came. A provider exchange was **cut** when:

* a fault cut its body (read off its alterations): ``token_limit`` (the answer stopped at
  the output-token limit with valid framing: ``finish_reason: "length"``, ``status:
  "incomplete"``, ``stop_reason: "max_tokens"``, its text or a tool call's arguments cut; the
  framing is whole, so only the stop reason tells), ``broken_sse`` ``cut_mid_event`` (an event
  cut inside its JSON, nothing after it), ``broken_sse`` ``invalid_data_line`` with ``end`` (the
  stream stopped at the broken line), ``reset`` ``mid_body``, ``stall`` with ``then: close`` or
  ``reset``, ``malformed_body`` ``truncated_json`` (a body, or one event's JSON, cut short);
  ``broken_sse`` ``missing_terminator`` on a Responses stream, whose terminal event is the one
  that says whether the response completed (``response.completed`` / ``incomplete``);
* or its ending says so: a reset, a read timeout or an error after the head went out; or the
  client closed the stream while a ``stall`` held the rest back (it gave up waiting).

Not a cut: a missing ``data: [DONE]`` (Chat Completions) or ``message_stop`` (Anthropic). The
finish reason (``stop_reason``) arrives in an earlier event there, so the text is whole, and the
SDKs never show the app the marker that is missing: a correct app could not tell.
An error response (HTTP 400 or more) whose body was cut is no answer and is not counted.

The verdict is given when the SUT returned an answer with some content (not an error: a
declared error after a cut is the controlled reaction) and no provider exchange after the cut
(a retry, a re-ask, another model) or a declared fallback route completed whole. Which later
call superseded which is not guessed: any later complete one counts, so a SUT that recovers is
never flagged.

Evidence: each cut exchange's ledger id and route, how it was cut, and how many events and
bytes reached the client before the cut; the answer's beginning for comparison.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from faultkit.formats.detect import WireFormat
from faultkit.formats.jsonpath import walk
from faultkit.ledger import AppliedFault, LedgerEntry, failure_reason
from faultkit.oracle.checks.base import MISLEADING, Check, Kind
from faultkit.oracle.context import Context
from faultkit.oracle.facts import FAILURE_FACTS, glob_any
from faultkit.oracle.verdict import Finding

TRUNCATED_OUTPUT_ACCEPTED = Kind("truncated_output_accepted", MISLEADING + 3, "uncontrolled")

# Formats whose terminal event is itself the completion signal (its absence hides the status).
TERMINAL_COMPLETES = frozenset({WireFormat.openai_responses.value})
CUT_ENDINGS = frozenset({"reset", "timeout", "error"})
# A refused (or empty) answer "completed" with nothing in it: no replacement for a cut one.
REFUSAL_FAULTS = ("refusal",)
_EVENT = re.compile(r"response\.events\[(\d+)")
_BYTE = re.compile(r"response\.body\[(\d+)")


@dataclass(frozen=True)
class Cut:
    """How one exchange was cut, and what reached the client before it (``events`` is None
    when the body was not a stream of events, or the count is not known)."""

    entry: LedgerEntry
    how: str
    events: int | None

    def evidence(self) -> dict[str, Any]:
        return {
            "entry": self.entry.id,
            "route": self.entry.route,
            "how": self.how,
            "events_delivered": self.events,
            "bytes_delivered": self.entry.bytes_sent,
            "ending": self.entry.ending,
        }


def cut_of(entry: LedgerEntry, tolerance_ms: float = 0.0) -> Cut | None:
    """How ``entry``'s body was cut short, or None when it was delivered whole (or was an error
    response, or never started)."""
    if entry.status is not None and entry.status >= 400:
        return None
    for fault in entry.faults:
        how = _fault_cut(fault, entry, tolerance_ms)
        if how is not None:
            return Cut(entry, how[0], how[1])
    if entry.ending in CUT_ENDINGS and entry.first_byte_ms is not None:
        detail = f": {entry.error}" if entry.error else ""
        return Cut(entry, f"ended by {entry.ending} after the response began{detail}", None)
    return None


def _fault_cut(
    fault: AppliedFault, entry: LedgerEntry, tolerance_ms: float
) -> tuple[str, int | None] | None:
    """(how, events delivered) when ``fault`` cut the body."""
    alts = fault.alterations
    if not alts:
        return None
    kind = fault.params.get("kind")
    first = alts[0]
    if fault.type == "token_limit":
        kept = len(first.value) if isinstance(first.value, str) else None
        whole = len(first.original) if isinstance(first.original, str) else None
        return (
            f"token_limit: the answer stopped at the output-token limit, {first.path} cut "
            f"to {kept} of its {whole} characters",
            None,
        )
    if fault.type == "broken_sse":
        at = _index(_EVENT, first.path)
        if kind == "cut_mid_event":
            return (
                f"broken_sse cut_mid_event: event {at} cut after {first.value} of its "
                f"{first.original} bytes, nothing after it",
                at,
            )
        if kind == "invalid_data_line" and fault.params.get("end"):
            return f"broken_sse invalid_data_line: the stream stopped at event {at}", at
        if kind == "missing_terminator" and entry.format in TERMINAL_COMPLETES:
            return f"broken_sse missing_terminator: no terminal event after event {at}", at
        return None
    if fault.type == "reset":
        sent = first.value if isinstance(first.value, dict) else None
        if first.path == "response" or sent is None:
            return None  # reset before the head: no answer began
        return (
            f"reset mid_body after {sent.get('events')} events ({sent.get('bytes')} bytes)",
            sent.get("events") if _index(_EVENT, first.path) is not None else None,
        )
    if fault.type == "stall":
        removed = next((a for a in alts if a.action == "removed"), None)
        at = _index(_EVENT, first.path)
        if removed is not None:
            return f"stall then {removed.value}: the rest never came after event {at}", at
        if entry.ending == "client_closed" and _closed_during_stall(fault, entry, tolerance_ms):
            return f"the client closed the stream during a stall after event {at}", at
        return None
    if fault.type == "malformed_body" and kind == "truncated_json":
        event = _index(_EVENT, first.path)
        if event is not None:
            return (
                f"malformed_body truncated_json: event {event}'s JSON cut after "
                f"{first.value} of {first.original} characters",
                None,
            )
        return (
            f"malformed_body truncated_json: body cut after {first.value} of "
            f"{first.original} bytes",
            None,
        )
    return None


def _closed_during_stall(fault: AppliedFault, entry: LedgerEntry, tolerance_ms: float) -> bool:
    """The client closed before the stall could have ended (it began after the first byte)."""
    stall_ms = fault.params.get("stall_ms")
    if entry.first_byte_ms is None or entry.end_ms is None or not isinstance(stall_ms, int | float):
        return False
    return entry.end_ms - entry.first_byte_ms < stall_ms - tolerance_ms


def _index(pattern: re.Pattern[str], path: str) -> int | None:
    found = pattern.match(path)
    return int(found.group(1)) if found else None


def _usable(entry: LedgerEntry) -> bool:
    """A complete answer the SUT could have used instead: ended, nothing failed (the ledger's
    one definition, :func:`faultkit.ledger.failure_reason`), nothing cut, and not a refusal."""
    return (
        entry.ending == "completed"
        and failure_reason(entry) is None
        and cut_of(entry) is None
        and not any(f.type in REFUSAL_FAULTS for f in entry.faults)
    )


def replacements(ctx: Context) -> list[LedgerEntry]:
    """Exchanges that delivered a whole, usable answer from a provider or a declared fallback
    route: what may stand in for an earlier unusable answer. Which later call superseded which
    is not guessed: any later one counts, so a SUT that recovers is never flagged."""
    providers = {e.id for e in ctx.provider_entries}
    return [
        e
        for e in ctx.entries
        if _usable(e) and (e.id in providers or glob_any(e.route, ctx.fallback_routes))
    ]


def unreplaced(ctx: Context, entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """Those of ``entries`` after which no replacement (:func:`replacements`) completed: the
    rule for a cut answer here and for a refused one in ``invalid_output``."""
    later = replacements(ctx) if entries else []
    return [e for e in entries if not any(r.id > e.id for r in later)]


def unreplaced_cuts(ctx: Context) -> list[Cut]:
    """Cut provider exchanges after which no provider exchange (nor a declared fallback route)
    completed whole."""
    cuts = [c for e in ctx.provider_entries if (c := cut_of(e, ctx.tolerance_ms)) is not None]
    kept = {e.id for e in unreplaced(ctx, [c.entry for c in cuts])}
    return [c for c in cuts if c.entry.id in kept]


def has_content(answer: Any) -> bool:
    return any(
        not isinstance(v, dict | list) and v is not None and v != "" for _, v in walk(answer)
    )


def check(ctx: Context) -> list[Finding]:
    if ctx.outcome != "answer" or not has_content(ctx.answer):
        return []
    cuts = unreplaced_cuts(ctx)
    if not cuts:
        return []
    first = cuts[0]
    more = f" (+{len(cuts) - 1} more cut)" if len(cuts) > 1 else ""
    return [
        Finding(
            kind="truncated_output_accepted",
            summary=f"returned an answer although the provider response it was built from never "
            f"completed: #{first.entry.id} on {first.entry.route}, {first.how} "
            f"({first.entry.bytes_sent} bytes delivered), and no later call completed{more}",
            entry_ids=[c.entry.id for c in cuts],
            values={"cuts": [c.evidence() for c in cuts], "answer": _preview(ctx.answer)},
        )
    ]


def _preview(value: Any, limit: int = 200) -> Any:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


CHECK = Check(
    kinds=(TRUNCATED_OUTPUT_ACCEPTED,),
    needs=frozenset({"id", "route", "bytes_sent", "first_byte_ms", "end_ms", *FAILURE_FACTS}),
    run=check,
)
