"""``invalid_output_leaked``: the SUT returned, as a success, an answer that fails its declared
output model, or that carries what a schema-drift fault put into the payload.

Drift evidence comes from the ledger's alterations of ``schema_drift`` faults:

* values the fault added or replaced are searched in the answer by the rule of
  :mod:`faultkit.oracle.values`;
* a retyped scalar is searched with its new type only: the string ``"42"`` in a field of the same
  name is the drifted value passed on, while ``42`` (coerced back) is not; a retyped or nested
  structure counts when the answer holds that very structure;
* a member the fault added or renamed (its new name) that shows up as a key of the answer, and
  is not a field of the declared output model, is the drifted shape passed on.
"""

from __future__ import annotations

from typing import Any

from faultkit.formats.jsonpath import format_path, walk
from faultkit.oracle.context import Context
from faultkit.oracle.facts import faults_of
from faultkit.oracle.values import field_name, find
from faultkit.oracle.verdict import Finding

DRIFT_FAULTS = ("schema_drift",)
VALUE_ACTIONS = frozenset({"added", "replaced", "injected"})
NAME_ACTIONS = frozenset({"added", "renamed"})


def check(ctx: Context) -> list[Finding]:
    if ctx.outcome != "answer":
        return []
    findings: list[Finding] = []
    errors = ctx.output_errors
    if errors:
        model = ctx.contract.output_model
        name = getattr(model, "__name__", str(model))
        findings.append(
            Finding(
                kind="invalid_output_leaked",
                summary=f"returned an answer that fails {name}: {'; '.join(errors[:3])}"
                + (f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""),
                entry_ids=[e.id for e in ctx.entries if e.faults],
                values={"errors": errors, "output": _preview(ctx.answer)},
            )
        )
    drift = _drift_hits(ctx)
    if drift:
        ids = sorted({i for i, _ in drift})
        findings.append(
            Finding(
                kind="invalid_output_leaked",
                summary="returned drifted data as a valid answer: "
                + "; ".join(text for _, text in drift[:3]),
                entry_ids=ids,
                values={"drifted": [text for _, text in drift]},
            )
        )
    return findings


def _drift_hits(ctx: Context) -> list[tuple[int, str]]:
    answer = ctx.answer
    keys = {str(p[-1]) for p, _ in walk(answer) if p and isinstance(p[-1], str)}
    declared = ctx.contract.output_field_names()
    out: list[tuple[int, str]] = []
    for entry in ctx.entries:
        for fault in faults_of(entry, *DRIFT_FAULTS):
            for alt in fault.alterations:
                name = field_name(alt.path)
                hits = []
                if alt.action in VALUE_ACTIONS and alt.value is not None:
                    hits = [h.describe() for h in find(answer, alt.value, name)]
                elif alt.action == "retyped" and not isinstance(alt.value, dict | list):
                    hits = [h.describe() for h in find(answer, alt.value, name, exact_type=True)]
                elif alt.action in ("retyped", "nested") and alt.value not in (None, {}, []):
                    hits = [
                        f"the {alt.action} structure is at {format_path(p) or '(root)'}"
                        for p, v in walk(answer)
                        if v == alt.value
                    ]
                out.extend((entry.id, f"{alt.action} value at {alt.path}: {h}") for h in hits)
                new_name = alt.value if alt.action == "renamed" else name
                if (
                    alt.action in NAME_ACTIONS
                    and isinstance(new_name, str)
                    and new_name in keys
                    and new_name not in declared
                ):
                    out.append(
                        (
                            entry.id,
                            f"{alt.action} member {new_name!r} ({alt.path}) is in the answer",
                        )
                    )
    return out


def _preview(value: Any, limit: int = 300) -> Any:
    text = repr(value)
    return value if len(text) <= limit else text[:limit] + "..."
