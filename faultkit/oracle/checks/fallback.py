"""``fallback``: after a failure, the SUT used a route or model it declared as its fallback.

A failure here includes an answer a fault made untrustworthy (schema drift, partial tool data):
falling back when validation rejects it is exactly the controlled reaction. The fallback must
come after the first such failure and differ from what failed (a declared fallback
model that was already the one failing is not a fallback). Routes and models are globs, from the
contract and the scenario together.
"""

from __future__ import annotations

from faultkit.oracle.checks.base import CONTROLLED, Check, Kind
from faultkit.oracle.context import Context
from faultkit.oracle.facts import FAILURE_FACTS, degradation, failed, glob_any
from faultkit.oracle.verdict import Finding

FALLBACK = Kind("fallback", CONTROLLED + 1, "controlled")


def check(ctx: Context) -> list[Finding]:
    routes, models = ctx.fallback_routes, ctx.fallback_models
    if not routes and not models:
        return []
    ordered = sorted(ctx.entries, key=lambda e: e.id)
    first = next((e for e in ordered if degradation(e)), None)
    # A model fallback answers a failed model call, not a failed tool call.
    first_model = next((e for e in ordered if e.model and degradation(e)), None)
    for entry in ordered:
        via, cause = None, None
        after_failure = first is not None and entry.id > first.id
        if after_failure and entry.route != first.route and glob_any(entry.route, routes):
            via, cause = f"fallback route {entry.route}", first
        after_model_failure = first_model is not None and entry.id > first_model.id
        if (
            via is None
            and after_model_failure
            and entry.model != first_model.model
            and glob_any(entry.model, models)
        ):
            via, cause = f"fallback model {entry.model}", first_model
        if via is None or cause is None:
            continue
        outcome = "failed too" if failed(entry) else "answered"
        return [
            Finding(
                kind="fallback",
                summary=f"after #{cause.id} on {cause.route} failed ({degradation(cause)}), "
                f"the SUT used {via} (#{entry.id}, which {outcome})",
                entry_ids=[cause.id, entry.id],
                values={
                    "failed_route": cause.route,
                    "failed_model": cause.model,
                    "fallback_route": entry.route,
                    "fallback_model": entry.model,
                    "fallback_ok": not failed(entry),
                },
                timings_ms={"after_ms": round(entry.arrival_ms - cause.arrival_ms, 3)},
            )
        ]
    return []


CHECK = Check(
    kinds=(FALLBACK,),
    needs=frozenset({"id", "route", "model", "arrival_ms", *FAILURE_FACTS}),
    run=check,
)
