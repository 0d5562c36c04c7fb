"""Retries per logical call: ``retried`` when bounded and polite, else ``retry_storm``,
``retry_after_ignored`` or ``retried_non_retryable``.

A logical call is one request as the app meant it; its attempts are the ledger's ``attempt``
numbers (the SDK's ``x-stainless-retry-count``, or the same request re-sent). The wait before
attempt n+1 is measured from the end of attempt n to the arrival of attempt n+1.

* more attempts than allowed (the stricter of contract and scenario) -> ``retry_storm``;
* a retry after a failure sooner than ``min_backoff_ms`` (no backoff at all) -> ``retry_storm``
  too: immediate retries are what turns an outage into a storm under load;
* a retry sooner than the previous response's retry-after (less a small clock tolerance)
  -> ``retry_after_ignored``; when the server gave a retry-after, that is the required backoff;
* a retry after a 400/401/403/404/422, a quota 429 or ``x-should-retry: false``
  -> ``retried_non_retryable``.

Retries wrapped around retries (an app loop around an SDK that retries on its own) show up as
several logical calls, because the SDK numbers each of its calls' attempts from zero. So calls
on one route that repeat the previous call's URL and model right after it failed are chained,
and a chain with more attempts in total than allowed is a ``retry_storm`` too.
"""

from __future__ import annotations

from itertools import pairwise

from faultkit.ledger import LedgerEntry
from faultkit.oracle.context import Context
from faultkit.oracle.facts import (
    failed,
    failure_reason,
    gap_ms,
    logical_calls,
    non_retryable_reason,
    retry_after_ms,
)
from faultkit.oracle.verdict import Finding


def check(ctx: Context) -> list[Finding]:
    findings: list[Finding] = []
    storms: set[int] = set()
    for (route, logical), group in logical_calls(ctx.entries).items():
        if len(group) < 2:
            continue
        ids = [e.id for e in group]
        attempts = max(len(group), max(e.attempt for e in group))
        gaps = [round(gap_ms(a, b), 3) for a, b in pairwise(group)]
        label = f"logical call {logical} on {route}"
        bad = False
        if ctx.max_attempts is not None and attempts > ctx.max_attempts:
            bad = True
            storms.update(ids)
            findings.append(
                Finding(
                    kind="retry_storm",
                    summary=f"{label} made {attempts} attempts; at most {ctx.max_attempts} "
                    "are allowed",
                    entry_ids=ids,
                    values={"attempts": attempts, "max_attempts": ctx.max_attempts},
                    timings_ms=_gap_timings(gaps),
                )
            )
        hurried: list[tuple[int, float]] = []
        for (prev, nxt), gap in zip(pairwise(group), gaps, strict=True):
            reason = non_retryable_reason(prev)
            if reason is not None:
                bad = True
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
                    bad = True
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
            elif failed(prev) and gap + ctx.tolerance_ms < ctx.contract.min_backoff_ms:
                hurried.append((nxt.id, gap))
        if hurried:
            bad = True
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
        if not bad:
            reasons = [failure_reason(e) for e in group[:-1]]
            findings.append(
                Finding(
                    kind="retried",
                    summary=f"{label} took {attempts} attempts"
                    + (f" (within {ctx.max_attempts})" if ctx.max_attempts else "")
                    + ", backing off "
                    + ", ".join(f"{g:.0f} ms" for g in gaps),
                    entry_ids=ids,
                    values={
                        "attempts": attempts,
                        "max_attempts": ctx.max_attempts,
                        "after": [r for r in reasons if r],
                        "recovered": not failed(group[-1]),
                    },
                    timings_ms=_gap_timings(gaps),
                )
            )
    return findings + _amplified(ctx, storms)


def _chains(ctx: Context) -> list[list[LedgerEntry]]:
    """Runs of logical calls on one route where each repeats the previous (same URL and model)
    after that one's last attempt failed: one request, retried at two levels."""
    chains: list[list[LedgerEntry]] = []
    by_route: dict[str, list[list[LedgerEntry]]] = {}
    for (route, _), group in sorted(logical_calls(ctx.entries).items(), key=lambda kv: kv[1][0].id):
        by_route.setdefault(route, []).append(group)
    for groups in by_route.values():
        chain: list[list[LedgerEntry]] = []
        for group in groups:
            last = chain[-1][-1] if chain else None
            repeats = (
                last is not None
                and failed(last)
                and group[0].url == last.url
                and group[0].model == last.model
            )
            if not repeats:
                if len(chain) > 1:
                    chains.append([e for g in chain for e in g])
                chain = []
            chain.append(group)
        if len(chain) > 1:
            chains.append([e for g in chain for e in g])
    return chains


def _amplified(ctx: Context, flagged: set[int]) -> list[Finding]:
    if ctx.max_attempts is None:
        return []
    findings = []
    for chain in _chains(ctx):
        if len(chain) <= ctx.max_attempts or flagged.issuperset(e.id for e in chain):
            continue
        calls = len({e.logical_call for e in chain})
        findings.append(
            Finding(
                kind="retry_storm",
                summary=f"the same request on {chain[0].route} was sent {len(chain)} times "
                f"over {calls} calls, each repeating the last after it failed (retries around "
                f"retries); at most {ctx.max_attempts} attempts are allowed",
                entry_ids=[e.id for e in chain],
                values={"attempts": len(chain), "calls": calls, "max_attempts": ctx.max_attempts},
                timings_ms=_gap_timings([round(gap_ms(a, b), 3) for a, b in pairwise(chain)]),
            )
        )
    return findings


def _gap_timings(gaps: list[float]) -> dict[str, float]:
    return {f"gap_{i + 1}_{i + 2}_ms": g for i, g in enumerate(gaps)}
