"""``untraceable``: the answer cannot be audited — a required decision trace is missing or
incomplete, or a trace (required or not) contradicts the ledger.

The trace is the app's own (returned or emitted) or, failing that, the one its OpenTelemetry
GenAI spans describe (:mod:`faultkit.otel.spans`); the rule is the same for both, and a span
trace that lacks a convention attribute is incomplete, naming the attribute and the span.

Contradictions checked:

* the trace's ``model_version`` is not a model the ledger shows answering (a model whose call
  succeeded; when none did, any model that was called). Dated snapshots match their alias
  (``gpt-4o-mini-2024-07-18`` is ``gpt-4o-mini``);
* a tool output reported ``ok`` for a tool whose every ledger exchange failed (matched by the
  output's ``route``, else by its ``tool`` name as route name or URL path segment);
* ``validation_result.valid`` is true but the returned answer fails the declared output model.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import ValidationError

from faultkit.ledger import LedgerEntry
from faultkit.oracle.checks.base import UNAUDITABLE, Check, Kind
from faultkit.oracle.context import Context
from faultkit.oracle.facts import FAILURE_FACTS, failed
from faultkit.oracle.trace import DecisionTrace, ToolOutput
from faultkit.oracle.verdict import Finding

UNTRACEABLE = Kind("untraceable", UNAUDITABLE, "uncontrolled")

_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$")


def same_model(a: str, b: str) -> bool:
    return _SNAPSHOT.sub("", a.strip().lower()) == _SNAPSHOT.sub("", b.strip().lower())


def check(ctx: Context) -> list[Finding]:
    raw = ctx.result.trace
    required = ctx.contract.trace_required
    if raw is None:
        if not required:
            return []
        return [
            Finding(
                kind="untraceable",
                summary="no decision trace, but the contract requires one",
                values={"missing": "trace"},
            )
        ]
    # A trace read from OpenTelemetry spans names the attributes the spans lack.
    missing = list(raw.get("missing_attributes") or [])
    problems = list(missing)
    trace: DecisionTrace | None = None
    try:
        trace = DecisionTrace.model_validate(raw)
    except ValidationError as exc:
        problems += [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    findings: list[Finding] = []
    if problems and required:
        values: dict[str, object] = {"problems": problems}
        if missing:
            values["missing_attributes"] = missing
        findings.append(
            Finding(
                kind="untraceable",
                summary="the decision trace is incomplete: " + "; ".join(problems[:4]),
                values=values,
            )
        )
    if trace is not None:
        findings += _contradictions(ctx, trace)
    return findings


def _contradictions(ctx: Context, trace: DecisionTrace) -> list[Finding]:
    findings: list[Finding] = []
    called = [e for e in ctx.provider_entries if e.model]
    answered = [e for e in called if not failed(e)]
    candidates = answered or called
    if candidates and not any(same_model(trace.model_version, e.model or "") for e in candidates):
        seen = sorted({e.model for e in candidates if e.model})
        findings.append(
            Finding(
                kind="untraceable",
                summary=f"the trace says model {trace.model_version!r} answered, but the ledger "
                f"shows {', '.join(map(repr, seen))}"
                + (" answering" if answered else " called (none answered)"),
                entry_ids=[e.id for e in candidates],
                values={"trace_model": trace.model_version, "ledger_models": seen},
            )
        )
    for output in trace.tool_outputs:
        if not output.ok:
            continue
        matched = [e for e in ctx.tool_entries if _matches(output, e)]
        if matched and all(failed(e) for e in matched):
            findings.append(
                Finding(
                    kind="untraceable",
                    summary=f"the trace reports tool {output.tool!r} as ok, but every call the "
                    "ledger shows for it failed",
                    entry_ids=[e.id for e in matched],
                    values={"tool": output.tool, "trace_output": output.output},
                )
            )
    if trace.validation_result.valid and ctx.output_errors:
        findings.append(
            Finding(
                kind="untraceable",
                summary="the trace says the answer passed validation, but it fails the "
                f"declared output model: {ctx.output_errors[0]}",
                values={"errors": ctx.output_errors},
            )
        )
    return findings


def _matches(output: ToolOutput, entry: LedgerEntry) -> bool:
    if output.route is not None:
        return entry.route == output.route
    if entry.route == output.tool:
        return True
    segments = [s for s in urlsplit(entry.url).path.split("/") if s]
    return output.tool in segments


CHECK = Check(
    kinds=(UNTRACEABLE,),
    needs=frozenset({"id", "route", "model", "url", *FAILURE_FACTS}),
    run=check,
)
