"""Fault schedules in words, and the report printed when one breaks the system under test.

A shrunk failing plan is only useful if a person can read it at a glance ("call 2 of openai →
429 retry-after 1s; call 3 of openai → stream cut inside event 3") and keep it: the report holds
that summary, the plan as a scenario file to save under ``scenarios/`` as a regression test,
and the command that reproduces the failure.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faultkit.faults import Fault
from faultkit.scenario import Rule, Scenario, When

ARROW = "→"


def _num(value: float) -> str:
    return f"{value:g}"


def _http_error(f: Any) -> str:
    parts = [str(f.status)]
    if f.error_type:
        parts.append(f.error_type)
    if f.retry_after_s is not None:
        parts.append(f"retry-after {_num(f.retry_after_s)}s")
    if f.retry_after_ms is not None:
        parts.append(f"retry-after-ms {f.retry_after_ms}")
    if f.should_retry is not None:
        parts.append(f"x-should-retry {str(f.should_retry).lower()}")
    if f.body is not None:
        parts.append("with an HTML page" if f.body.lstrip().startswith("<") else "with a raw body")
    return " ".join(parts)


def _latency(f: Any) -> str:
    jitter = f" ± {_num(f.jitter_ms)} ms" if f.jitter_ms else ""
    return f"answer {_num(f.latency_ms)} ms late{jitter}"


def _slow_first_token(f: Any) -> str:
    beats = f" (keep-alive every {_num(f.heartbeat_ms)} ms)" if f.heartbeat_ms else ""
    return f"first token {_num(f.delay_ms)} ms late{beats}"


def _stall(f: Any) -> str:
    where = (
        f"after {f.after_bytes} bytes"
        if f.after_bytes is not None
        else f"after {f.after_events} events"
    )
    then = {"continue": "then resumes", "close": "then ends early", "reset": "then resets"}[f.then]
    return f"stream stalls {_num(f.stall_ms)} ms {where}, {then}"


def _timeout(f: Any) -> str:
    return f"no answer for {_num(f.timeout_ms)} ms, then reset"


def _reset(f: Any) -> str:
    if f.at == "before_head":
        return "connection reset before any response"
    if f.after_bytes is not None:
        return f"connection reset after {f.after_bytes} body bytes"
    if f.after_events is not None:
        return f"connection reset after {f.after_events} events"
    return "connection reset mid-body"


def _malformed_body(f: Any) -> str:
    if f.kind == "truncated_json":
        share = f" at {round(f.truncate_at * 100)}%" if f.truncate_at is not None else ""
        return f"body JSON truncated{share}"
    if f.kind == "invalid_json":
        return "body is invalid JSON"
    if f.kind == "empty_body":
        return "empty body"
    return f"{f.page} HTML error page with status {f.status or 200}"


def _broken_sse(f: Any) -> str:
    at = f"event {f.at_event}" if f.at_event is not None else "an event"
    if f.kind == "cut_mid_event":
        end = "closes" if f.end == "close" else "resets"
        return f"stream cut inside {at}'s JSON, then {end}"
    if f.kind == "missing_terminator":
        return "stream ends without its terminator" + (" (reset)" if f.end == "reset" else "")
    line = f" {f.line!r}" if f.line else " that is not JSON"
    end = ", then ends" if f.end else ""
    return f"{at} carries a data line{line}{end}"


def _tool_call(f: Any) -> str:
    which = "tool" if f.call == 0 else f"tool call {f.call}"
    if f.kind == "invalid_arguments":
        form = {"truncated": "truncated", "empty": "empty", "double_encoded": "double-encoded"}
        return f"{which} arguments {form[f.form]}"
    if f.kind == "unknown_tool":
        return f"{which} names unknown tool {f.tool_name!r}"
    if f.kind == "missing_id":
        return f"{which} id {'missing' if f.id_form == 'absent' else 'empty'}"
    return f"{which} id duplicated"


def _schema_drift(f: Any) -> str:
    where = {
        "output": "output",
        "structured": "structured answer",
        "body": "response body",
        "tool_arguments": "tool arguments",
    }
    field = f"{where[f.target]} field {f.path}" if f.path else f"a {where[f.target]} field"
    has_value = "value" in f.model_fields_set
    if f.op == "rename":
        return f"{field} renamed" + (f" to {f.new_name}" if f.new_name else "")
    if f.op == "drop":
        return f"{field} dropped"
    if f.op == "nest":
        return f"{field} nested one level down"
    if f.op == "add":
        value = f" = {f.value!r}" if has_value else ""
        return f"{field} added{value}" if f.path else f"unexpected {where[f.target]} field added"
    if has_value:
        return f"{field} becomes {f.value!r}" if f.value is not None else f"{field} becomes null"
    return f"{field} changes type"


def _partial_tool_data(f: Any) -> str:
    fields = ", ".join(f.fields) if f.fields else None
    if f.op == "drop_fields":
        text = f"tool data: {fields} dropped" if fields else "tool data: some fields dropped"
    elif f.op == "null_values":
        text = f"tool data: {fields} null" if fields else "tool data: some values null"
    else:
        kept = f" to {f.keep} items" if f.keep is not None else ""
        text = f"tool data: list {fields} cut{kept}" if fields else f"tool data: a list cut{kept}"
    return text + (" (isError)" if f.is_error else "")


def _token_limit(f: Any) -> str:
    tokens = f" ({f.max_tokens} tokens)" if f.max_tokens is not None else ""
    return f"answer stops at the token limit{tokens}, {round(f.keep * 100)}% of its last part kept"


def _refusal(f: Any) -> str:
    if f.kind == "content_filter":
        return "answer withheld by the content filter"
    if f.kind == "empty_answer":
        return "empty answer, no tool call"
    return f"model refuses: {f.text!r}"


_DESCRIBERS: dict[str, Callable[[Any], str]] = {
    "http_error": _http_error,
    "latency": _latency,
    "slow_first_token": _slow_first_token,
    "stall": _stall,
    "timeout": _timeout,
    "reset": _reset,
    "malformed_body": _malformed_body,
    "broken_sse": _broken_sse,
    "tool_call": _tool_call,
    "schema_drift": _schema_drift,
    "partial_tool_data": _partial_tool_data,
    "token_limit": _token_limit,
    "refusal": _refusal,
}


def describe_fault(fault: Fault) -> str:
    """One fault in a few words (``429 retry-after 1s``); unknown faults list their params."""
    describer = _DESCRIBERS.get(fault.type)
    if describer is not None:
        return describer(fault)
    params = fault.model_dump(mode="json", exclude_defaults=True)
    params.pop("type", None)
    inner = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return f"{fault.type}({inner})" if inner else fault.type


def describe_when(when: When, route: str | None) -> str:
    """``call 2 of openai``, ``calls 1-3 of orders*``, ``every call of any route``."""
    of = f" of {route}" if route else ""
    parts: list[str] = []
    span = when.call_range()
    if when.nth is not None:
        parts.append(f"call {when.nth}{of}")
    elif span is not None:
        parts.append(
            f"call {span[0]}{of}" if span[0] == span[1] else f"calls {span[0]}-{span[1]}{of}"
        )
    elif when.every is not None:
        parts.append(f"every {when.every}th call{of}")
    elif when.after is not None:
        parts.append(f"calls after {when.after}{of}")
    else:
        parts.append(f"every call{of}" if route else "every call")
    if when.nth is not None and span is not None:
        parts.append(f"within calls {span[0]}-{span[1]}")
    if when.window_ms is not None:
        parts.append(f"between {_num(when.window_ms[0])} and {_num(when.window_ms[1])} ms")
    if when.probability < 1:
        parts.append(f"with probability {_num(when.probability)}")
    return ", ".join(parts)


def describe_rule(rule: Rule) -> str:
    """``call 2 of openai → 429 retry-after 1s``."""
    return f"{describe_when(rule.when, _route_label(rule))} {ARROW} {describe_fault(rule.fault)}"


def _route_label(rule: Rule) -> str | None:
    """What the rule targets, in words: a route, a tool, a provider, any tool route, a path;
    ``(streamed)`` after it when only streamed calls count."""
    match = rule.match
    kind = {"tool": "any tool", "provider": "any provider"}.get(match.kind or "")
    labels = (match.route, match.tool, match.provider, kind, match.path)
    label = next((x for x in labels if x), None)
    if match.stream:
        return f"{label} (streamed)" if label else "streamed calls"
    return label


def summarize(scenario: Scenario) -> str:
    """The schedule in one line, rules in order; ``no faults`` for the empty plan."""
    if not scenario.rules:
        return "no faults"
    return "; ".join(describe_rule(rule) for rule in scenario.rules)


def failure_report(
    scenario: Scenario,
    *,
    repro: str | None = None,
    verdict: str | None = None,
    save_as: str | None = None,
    saved: bool = False,
) -> str:
    """What to print when ``scenario`` broke the system under test: the verdict (if given),
    the schedule in words, the scenario file to keep as a regression (``saved``: it was
    already written to ``save_as``), and the repro command."""
    target = save_as or f"scenarios/{scenario.name}.yaml"
    lines: list[str] = []
    if verdict:
        lines.extend([verdict, ""])
    lines.append(f"minimal failing fault schedule: {summarize(scenario)}")
    lines.append("")
    if saved:
        lines.append(f"as a scenario (saved as {target}; keep it as a regression test):")
    else:
        lines.append(f"as a scenario (save it as {target} to keep it as a regression test):")
    lines.append("")
    lines.extend("    " + line for line in scenario.to_yaml().rstrip("\n").splitlines())
    if repro:
        lines.extend(["", f"reproduce: {repro}"])
    return "\n".join(lines)


__all__ = [
    "describe_fault",
    "describe_rule",
    "describe_when",
    "failure_report",
    "summarize",
]
