"""Retries per logical call: ``retried`` when bounded and polite, else ``retry_storm``,
``retry_after_ignored`` or ``retried_non_retryable``.

A logical call is one request as the app meant it; its attempts are the ledger's ``attempt``
numbers. The ledger groups them by what is observable (see :class:`faultkit.ledger.Ledger`):
the same request re-sent after an unusable answer, whatever ``x-stainless-retry-count`` says,
and a re-ask carrying the same conversation with the bad answer, a correction or a tightened
instruction. So retries an app makes in its own loop (``max_retries=0``), retries wrapped
around an SDK's own, and a framework's re-asks are all attempts of one call, judged by the one
rule below. The wait before attempt n+1 is measured from the end of attempt n to the arrival of
attempt n+1.

* more attempts than allowed (the stricter of contract and scenario) -> ``retry_storm``;
* a retry sooner than ``min_backoff_ms`` (no backoff at all) after an error status or a broken
  exchange -> ``retry_storm`` too: immediate retries are what turns an outage into a storm
  under load. Re-asking at once after an answer that arrived unusable is fine;
* a retry sooner than the previous response's retry-after (less a small clock tolerance)
  -> ``retry_after_ignored``; when the server gave a retry-after, that is the required backoff;
* a retry after a 401/403, a quota 429 or ``x-should-retry: false``, or the same request again
  after a 400/404/422 -> ``retried_non_retryable``.
"""

from __future__ import annotations

from itertools import pairwise

from faultkit.ledger import LedgerEntry
from faultkit.oracle.checks.base import CONTROLLED, HURTS_UPSTREAM, Check, Kind
from faultkit.oracle.context import Context
from faultkit.oracle.facts import (
    FAILURE_FACTS,
    backoff_reason,
    degradation,
    gap_ms,
    logical_calls,
    non_retryable_reason,
    retry_after_ms,
)
from faultkit.oracle.verdict import Finding

RETRY_STORM = Kind("retry_storm", HURTS_UPSTREAM, "uncontrolled")
RETRIED_NON_RETRYABLE = Kind("retried_non_retryable", HURTS_UPSTREAM + 1, "uncontrolled")
RETRY_AFTER_IGNORED = Kind("retry_after_ignored", HURTS_UPSTREAM + 2, "uncontrolled")
RETRIED = Kind("retried", CONTROLLED + 2, "controlled")


def check(ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    for (route, logical), group in logical_calls(ctx.entries).items():
        if len(group) >= 2:
            findings += _judge_call(ctx, f"logical call {logical} on {route}", group)
    return findings


def _judge_call(ctx: Context, label: str, group: list[LedgerEntry]) -> list[Finding]:
    findings: list[Finding] = []
    ids = [e.id for e in group]
    attempts = max(len(group), max(e.attempt for e in group))
    gaps = [round(gap_ms(a, b), 3) for a, b in pairwise(group)]
    reasks = sum(a.body_hash != b.body_hash for a, b in pairwise(group))
    if ctx.max_attempts is not None and attempts > ctx.max_attempts:
        findings.append(
            Finding(
                kind="retry_storm",
                summary=f"{label} made {attempts} attempts{_how(reasks)}; at most "
                f"{ctx.max_attempts} are allowed",
                entry_ids=ids,
                values={"attempts": attempts, "max_attempts": ctx.max_attempts},
                timings_ms=_gap_timings(gaps),
            )
        )
    hurried: list[tuple[int, float]] = []
    for (prev, nxt), gap in zip(pairwise(group), gaps, strict=True):
        reason = non_retryable_reason(prev, changed=prev.body_hash != nxt.body_hash)
        if reason is not None:
            findings.append(
                Finding(
                    kind="retried_non_retryable",
                    summary=f"{label} retried (#{nxt.id}) after #{prev.id}: {reason}",
                    entry_ids=[prev.id, nxt.id],
                    values={"status": prev.status, "reason": reason},
                    timings_ms={"gap_ms": gap},
                )
            )
        wanted = retry_after_ms(prev)
        if wanted is not None:
            if gap + ctx.tolerance_ms < wanted:
                findings.append(
                    Finding(
                        kind="retry_after_ignored",
                        summary=f"{label} retried {gap:.0f} ms after #{prev.id}, which "
                        f"asked for {wanted:.0f} ms (retry-after)",
                        entry_ids=[prev.id, nxt.id],
                        values={"status": prev.status},
                        timings_ms={"gap_ms": gap, "retry_after_ms": wanted},
                    )
                )
        elif backoff_reason(prev) and gap + ctx.tolerance_ms < ctx.contract.min_backoff_ms:
            hurried.append((nxt.id, gap))
    if hurried:
        findings.append(
            Finding(
                kind="retry_storm",
                summary=f"{label} retried without backoff: "
                + ", ".join(f"#{i} after {g:.0f} ms" for i, g in hurried)
                + f" (minimum {ctx.contract.min_backoff_ms:.0f} ms)",
                entry_ids=ids,
                values={"attempts": attempts, "min_backoff_ms": ctx.contract.min_backoff_ms},
                timings_ms=_gap_timings(gaps),
            )
        )
    if findings:
        return findings
    reasons = [degradation(e) for e in group[:-1]]
    return [
        Finding(
            kind="retried",
            summary=f"{label} took {attempts} attempts{_how(reasks)}"
            + (f" (within {ctx.max_attempts})" if ctx.max_attempts else "")
            + ", waiting "
            + ", ".join(f"{g:.0f} ms" for g in gaps),
            entry_ids=ids,
            values={
                "attempts": attempts,
                "max_attempts": ctx.max_attempts,
                "reasks": reasks,
                "after": [r for r in reasons if r],
                "recovered": degradation(group[-1]) is None,
            },
            timings_ms=_gap_timings(gaps),
        )
    ]


def _how(reasks: int) -> str:
    """How the attempts differed: re-sent as they were, or re-asked with something changed."""
    return f" ({reasks} re-asked with a changed request)" if reasks else ""


def _gap_timings(gaps: list[float]) -> dict[str, float]:
    return {f"gap_{i + 1}_{i + 2}_ms": g for i, g in enumerate(gaps)}


CHECK = Check(
    kinds=(RETRY_STORM, RETRIED_NON_RETRYABLE, RETRY_AFTER_IGNORED, RETRIED),
    needs=frozenset(
        {
            "id",
            "route",
            "logical_call",
            "attempt",
            "arrival_ms",
            "end_ms",
            "body_hash",
            "retry_after_ms",
            "should_retry",
            "error_code",
            *FAILURE_FACTS,
        }
    ),
    run=check,
)
