"""How the run ended: an answer, a declared error (``controlled_error``), an undeclared one
(``crash``), and whether it ended in time (``hang`` when not) — unless the harness failed.

A request with no recording, or one of faultkit's own errors raised through the SUT (an
``UnmatchedRequest``, a ``CassetteError``), is a ``harness_error``: the cell did not run as
written, so what the SUT did next (crash, or a declared error after a "connection error") says
nothing about it, and is not reported as its verdict. The finding names the requests and the
closest recordings, so the user knows what to record.

For an HTTP target (``result.status`` set): a status of 400 or more is an error response. With
an ``error_model`` declared, it is controlled when its body has that shape and a crash when not;
without one, a 4xx is an explicit (controlled) error and a 5xx a crash — a server that answers
500 did not decide to fail.
"""

from __future__ import annotations

from faultkit.oracle.checks.base import CONTROLLED, HARNESS, NO_ANSWER, Check, Kind
from faultkit.oracle.context import Context, Outcome
from faultkit.oracle.contract import Contract
from faultkit.oracle.facts import FAILURE_FACTS, failed, failure_reason
from faultkit.oracle.result import Result
from faultkit.oracle.verdict import Finding

HARNESS_ERROR = Kind("harness_error", HARNESS, "unjudged")
CRASH = Kind("crash", NO_ANSWER, "uncontrolled")
HANG = Kind("hang", NO_ANSWER + 1, "uncontrolled")
CONTROLLED_ERROR = Kind("controlled_error", CONTROLLED, "controlled")
# Not found by ``check``: the judge's verdict when no check found anything (see ``passed``).
PASS = Kind("pass", CONTROLLED + 3, "controlled")

FAULTKIT_ERROR = "faultkit.errors.FaultkitError"


def classify(result: Result, contract: Contract) -> tuple[Outcome, str]:
    """(outcome, why) for ``result`` under ``contract``."""
    if result.error is not None:
        err = result.error
        if FAULTKIT_ERROR in err.bases:
            return "harness_error", f"raised faultkit's own {err.type}: {err.message}"
        if contract.declares_error(err.bases):
            return "declared_error", f"raised {err.type}: {err.message}"
        note = ""
        if err.type.startswith("faultkit."):
            note = " (a faultkit error: the harness, not the SUT, may be misconfigured)"
        return "undeclared_error", f"raised undeclared {err.type}: {err.message}{note}"
    if result.timed_out:
        return "no_answer", "gave no answer before the runner stopped waiting"
    if result.status is not None and result.status >= 400:
        if contract.error_model is not None:
            if contract.is_error_shape(result.value):
                return "declared_error", f"answered HTTP {result.status} with the declared error"
            return "undeclared_error", (
                f"answered HTTP {result.status} with a body that is not the declared error shape"
            )
        if result.status >= 500:
            return "undeclared_error", f"answered HTTP {result.status} (server error)"
        return "declared_error", f"answered HTTP {result.status} (explicit client error)"
    if contract.is_error_shape(result.value):
        return "declared_error", "returned the declared error shape"
    return "answer", "returned an answer"


def check(ctx: Context) -> list[Finding]:
    if ctx.harness_failed:
        return [harness_error(ctx)]
    result = ctx.result
    findings: list[Finding] = []
    failed_ids = [e.id for e in ctx.entries if failed(e)]
    late = result.timed_out or (
        ctx.deadline_ms is not None and result.duration_ms > ctx.deadline_ms
    )
    if late:
        faulted = [e.id for e in ctx.entries if e.faults]
        if result.timed_out:
            summary = f"did not finish; the runner gave up after {result.duration_ms:.0f} ms"
        else:
            summary = (
                f"took {result.duration_ms:.0f} ms, past its deadline of {ctx.deadline_ms:.0f} ms"
            )
        findings.append(
            Finding(
                kind="hang",
                summary=summary,
                entry_ids=faulted,
                values={"timed_out": result.timed_out, "outcome": ctx.outcome_reason},
                timings_ms=_timings(result.duration_ms, ctx.deadline_ms),
            )
        )
    if ctx.outcome == "undeclared_error":
        declared = list(ctx.contract.error_types)
        after = ""
        if failed_ids:
            first = next(e for e in ctx.entries if e.id == failed_ids[0])
            after = f" after #{first.id} on {first.route} failed ({failure_reason(first)})"
        findings.append(
            Finding(
                kind="crash",
                summary=f"{ctx.outcome_reason}{after}",
                entry_ids=failed_ids,
                values={
                    "error_type": result.error.type if result.error else None,
                    "message": result.error.message if result.error else None,
                    "status": result.status,
                    "declared_error_types": declared,
                },
                timings_ms=_timings(result.duration_ms, ctx.deadline_ms),
            )
        )
    elif ctx.outcome == "declared_error" and not late:
        findings.append(
            Finding(
                kind="controlled_error",
                summary=f"{ctx.outcome_reason}, within the deadline",
                entry_ids=failed_ids,
                values={
                    "error_type": result.error.type if result.error else None,
                    "status": result.status,
                },
                timings_ms=_timings(result.duration_ms, ctx.deadline_ms),
            )
        )
    return findings


def passed(ctx: Context) -> Finding:
    """The ``pass`` finding, for a judgement in which no check found anything."""
    faulted = [e.id for e in ctx.entries if e.faults]
    faults = sorted({f.type for e in ctx.entries for f in e.faults})
    within = f" within {ctx.deadline_ms:.0f} ms" if ctx.deadline_ms is not None else ""
    applied = f", {len(faulted)} with faults ({', '.join(faults)})" if faulted else ""
    count = len(ctx.entries)
    exchanges = f"{count} exchange{'' if count == 1 else 's'}"
    return Finding(
        kind="pass",
        summary=f"answered{within}: {exchanges}{applied}, nothing uncontrolled",
        entry_ids=faulted,
        values={"faults": faults},
        timings_ms={"duration_ms": round(ctx.result.duration_ms, 3)},
    )


def harness_error(ctx: Context) -> Finding:
    """The harness problem: each request with no recording (with the closest recordings the
    store knows), or faultkit's own error as the SUT raised it."""
    unmatched = [
        {
            "entry": e.id,
            "route": e.route,
            "method": e.method,
            "url": e.url,
            "closest": closest_recordings(e.error or ""),
        }
        for e in ctx.unmatched_entries
    ]
    if unmatched:
        requests = ", ".join(f"#{u['entry']} {u['method']} {u['url']}" for u in unmatched)
        summary = (
            f"{len(unmatched)} request(s) had no recording ({requests}); record them "
            "(faultkit proxy --mode new_episodes, or pytest --faultkit-record-mode=new_episodes)"
            " or widen the matching (match_on, ignore_body_fields)"
        )
        closest = next((u["closest"] for u in unmatched if u["closest"]), [])
        if closest:
            summary += f"; closest recording: {closest[0]}"
    else:
        summary = f"{ctx.outcome_reason}; the harness, not the SUT, is misconfigured"
    error = ctx.result.error
    return Finding(
        kind="harness_error",
        summary=summary,
        entry_ids=[e.id for e in ctx.unmatched_entries],
        values={
            "unmatched": unmatched,
            "error_type": error.type if error else None,
            "message": error.message if error else None,
            "sut_outcome": ctx.outcome_reason,
        },
        timings_ms=_timings(ctx.result.duration_ms, ctx.deadline_ms),
    )


def closest_recordings(message: str) -> list[str]:
    """The "closest recordings:" lines of an :class:`~faultkit.errors.UnmatchedRequest`
    message, as the ledger keeps it."""
    lines = message.splitlines()
    if "closest recordings:" not in lines:
        return []
    start = lines.index("closest recordings:") + 1
    return [line.strip() for line in lines[start:] if line.startswith("  ")]


def _timings(duration_ms: float, deadline_ms: float | None) -> dict[str, float]:
    out = {"duration_ms": round(duration_ms, 3)}
    if deadline_ms is not None:
        out["deadline_ms"] = deadline_ms
    return out


CHECK = Check(
    kinds=(HARNESS_ERROR, CRASH, HANG, CONTROLLED_ERROR, PASS),
    needs=frozenset({"id", "route", "method", "url", "faults", *FAILURE_FACTS}),
    run=check,
)
