"""``invalid_output_leaked``: the SUT returned, as a success, an answer that fails its declared
output model, or that carries what a schema-drift fault (or another fault that declares
``leaks_values``, such as a repeated stream event) put into the payload.

Drift evidence comes from the ledger's alterations of those faults:

* values the fault added or replaced are searched in the answer by the rule of
  :mod:`faultkit.oracle.values`;
* a retyped scalar is searched with its new type only: the string ``"42"`` in a field of the same
  name is the drifted value passed on, while ``42`` (coerced back) is not; a retyped or nested
  structure counts when the answer holds that very structure;
* a member the fault added or renamed (its new name) that shows up as a key of the answer, and
  is not a field of the declared output model, is the drifted shape passed on.

A refusal is an invalid output too. When a ``refusal`` fault made the model decline (``refusal``,
``content_filter``) or answer with nothing (``empty_answer``), and the SUT returned an answer as
a success with no later model answer (or declared fallback route) completing whole to build it
from — the rule of :func:`~faultkit.oracle.checks.truncated_output.unreplaced` — the answer is
the refusal (or the emptiness) passed on, unless the SUT labelled it: a clarification whose own
words (the refusal text left out, since a refusal says "can't" itself) carry one of the
contract's ``unknown_markers``. A declared error and a fallback are controlled as ever. The
evidence is the refusal: what the model said, how it stopped, and where its words are in the
answer.
"""

from __future__ import annotations

from typing import Any

from faultkit.faults import FAULTS
from faultkit.formats.jsonpath import format_path, walk
from faultkit.ledger import AppliedFault, LedgerEntry
from faultkit.oracle.checks.base import MISLEADING, Check, Kind
from faultkit.oracle.checks.silent_tool_failure import marker_pattern
from faultkit.oracle.checks.truncated_output import REFUSAL_FAULTS, unreplaced
from faultkit.oracle.context import Context
from faultkit.oracle.facts import FAILURE_FACTS, faults_of
from faultkit.oracle.values import field_name, find
from faultkit.oracle.verdict import Finding

INVALID_OUTPUT_LEAKED = Kind("invalid_output_leaked", MISLEADING + 2, "uncontrolled")

# Faults whose added or replaced values are wrong wherever they show up (``Fault.leaks_values``):
# schema drift, a repeated stream event.
DRIFT_FAULTS = tuple(name for name, cls in FAULTS.items() if cls.leaks_values)
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
        types = {f.type for e in ctx.entries if e.id in ids for f in faults_of(e, *DRIFT_FAULTS)}
        what = "drifted data" if types == {"schema_drift"} else "data a fault made wrong"
        findings.append(
            Finding(
                kind="invalid_output_leaked",
                summary=f"returned {what} as a valid answer: "
                + "; ".join(text for _, text in drift[:3]),
                entry_ids=ids,
                values={"drifted": [text for _, text in drift]},
            )
        )
    refusal = _refusal_finding(ctx)
    if refusal is not None:
        findings.append(refusal)
    return findings


def _refusal_finding(ctx: Context) -> Finding | None:
    """The finding for a refusal or an empty answer passed on as an answer (see the module
    docstring), or None."""
    refused: dict[int, AppliedFault] = {}
    for entry in ctx.provider_entries:
        for fault in faults_of(entry, *REFUSAL_FAULTS):
            if fault.alterations:
                refused.setdefault(entry.id, fault)
    if not refused:
        return None
    by_id = {e.id: e for e in ctx.provider_entries}
    left: list[LedgerEntry] = unreplaced(ctx, [by_id[i] for i in sorted(refused)])
    if not left:
        return None
    said = [str(refused[e.id].alterations[0].value or "") for e in left]
    if _labelled(ctx, said):
        return None
    found = [
        format_path(p) or "(root)"
        for p, v in walk(ctx.answer)
        if isinstance(v, str) and any(t and t in v for t in said)
    ]
    first = left[0]
    fault = refused[first.id]
    kind = fault.params.get("kind", "refusal")
    if kind == "empty_answer":
        what = "the model answered with no content and no tool call"
    elif kind == "content_filter":
        what = "the provider's content filter withheld the model's answer"
    else:
        what = f"the model declined ({said[0]!r})"
    where = f"; the refusal is in the answer at {', '.join(found[:3])}" if found else ""
    return Finding(
        kind="invalid_output_leaked",
        summary=f"returned a normal answer although {what} in #{first.id} on {first.route}, and "
        f"no later call completed{where}",
        entry_ids=[e.id for e in left],
        values={
            "refusals": [_refusal_evidence(e, refused[e.id]) for e in left],
            "found_at": found,
            "output": _preview(ctx.answer),
        },
    )


def _labelled(ctx: Context, said: list[str]) -> bool:
    """The answer says, in its own words, that it has no answer: a contract marker in its
    text once the refusal's own words are taken out."""
    pattern = marker_pattern(ctx.contract.unknown_markers)
    if pattern is None:
        return False
    for _, value in walk(ctx.answer):
        if not isinstance(value, str):
            continue
        for text in said:
            if text:
                value = value.replace(text, " ")
        if pattern.search(value):
            return True
    return False


def _refusal_evidence(entry: LedgerEntry, fault: AppliedFault) -> dict[str, Any]:
    first = fault.alterations[0]
    return {
        "entry": entry.id,
        "route": entry.route,
        "kind": fault.params.get("kind"),
        "said": first.value,
        "instead_of": first.original,
        "stop": {a.path: a.value for a in fault.alterations[1:]},
    }


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


CHECK = Check(
    kinds=(INVALID_OUTPUT_LEAKED,),
    needs=frozenset({"id", "route", "faults", *FAILURE_FACTS}),
    run=check,
)
