"""``fallback``: after a failure, the SUT used a route or model it declared as its fallback.

A failure here includes an answer a fault made untrustworthy (schema drift, partial tool data):
falling back when validation rejects it is exactly the controlled reaction. The fallback must
come after the first such failure and differ from what failed (a declared fallback
model that was already the one failing is not a fallback). Routes and models are globs, from the
contract and the scenario together.
"""

from __future__ import annotations

from faultkit.oracle.context import Context
from faultkit.oracle.facts import degradation, failed, glob_any
from faultkit.oracle.verdict import Finding


def check(ctx: Context) -> list[Finding]:
    routes, models = ctx.fallback_routes, ctx.fallback_models
    if not routes and not models:
        return []
    first = next((e for e in sorted(ctx.entries, key=lambda e: e.id) if degradation(e)), None)
    if first is None:
        return []
    for entry in ctx.entries:
        if entry.id <= first.id:
            continue
        via = None
        if glob_any(entry.route, routes) and entry.route != first.route:
            via = f"fallback route {entry.route}"
        elif glob_any(entry.model, models) and entry.model != first.model:
            via = f"fallback model {entry.model}"
        if via is None:
            continue
        outcome = "failed too" if failed(entry) else "answered"
        return [
            Finding(
                kind="fallback",
                summary=f"after #{first.id} on {first.route} failed ({degradation(first)}), "
                f"the SUT used {via} (#{entry.id}, which {outcome})",
                entry_ids=[first.id, entry.id],
                values={
                    "failed_route": first.route,
                    "failed_model": first.model,
                    "fallback_route": entry.route,
                    "fallback_model": entry.model,
                    "fallback_ok": not failed(entry),
                },
                timings_ms={"after_ms": round(entry.arrival_ms - first.arrival_ms, 3)},
            )
        ]
    return []
