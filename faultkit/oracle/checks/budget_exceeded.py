"""``budget_exceeded``: one user request used more tokens than the contract's ``token_budget``.

Counted from the ``usage`` every provider answer reported (the ledger's ``usage``: input plus
output tokens, cached input included), over every attempt and every step: a request that
retries a long prompt five times, or loops, burns its budget as surely as one huge answer, and
that is what a per-request budget is for. An answer that reported no usage (an error status, a
Chat stream without ``include_usage``, a stream cut before its last event) adds nothing, and the
evidence lists it, so a verdict never rests on tokens nobody reported.
"""

from __future__ import annotations

from faultkit.oracle.checks.base import HURTS_UPSTREAM, Check, Kind
from faultkit.oracle.context import Context
from faultkit.oracle.verdict import Finding

BUDGET_EXCEEDED = Kind("budget_exceeded", HURTS_UPSTREAM + 4, "uncontrolled")


def check(ctx: Context) -> list[Finding]:
    budget = ctx.contract.token_budget
    if budget is None:
        return []
    reported = [e for e in ctx.provider_entries if e.usage is not None]
    total = sum(e.usage.total for e in reported)  # type: ignore[union-attr]
    if total <= budget:
        return []
    inputs = sum(e.usage.input_tokens for e in reported)  # type: ignore[union-attr]
    outputs = sum(e.usage.output_tokens for e in reported)  # type: ignore[union-attr]
    cached = sum(e.usage.cached_tokens for e in reported)  # type: ignore[union-attr]
    calls = {(e.route, e.logical_call) for e in reported}
    unreported = [e.id for e in ctx.provider_entries if e.usage is None]
    exchanges = f"{len(reported)} answer{'' if len(reported) == 1 else 's'}"
    over_calls = f" in {len(calls)} call{'' if len(calls) == 1 else 's'}"
    return [
        Finding(
            kind="budget_exceeded",
            summary=f"one request used {total} tokens ({inputs} in, {outputs} out) over "
            f"{exchanges}{over_calls}, more than token_budget {budget}",
            entry_ids=[e.id for e in reported],
            values={
                "token_budget": budget,
                "tokens": total,
                "input_tokens": inputs,
                "output_tokens": outputs,
                "cached_tokens": cached,
                "per_answer": {str(e.id): e.usage.total for e in reported},  # type: ignore[union-attr]
                "no_usage_reported": unreported,
            },
        )
    ]


CHECK = Check(
    kinds=(BUDGET_EXCEEDED,),
    needs=frozenset({"usage", "route", "logical_call", "format"}),
    run=check,
)
