"""The bundled scenario families, instantiated for the shapes a set of cassettes shows.

Each family mirrors a bundled scenario (same name, seed and expectation) but matches by
meaning instead of host name: ``provider:`` for the LLM APIs (known from the wire format, so a
recording against ``127.0.0.1`` or a gateway is still ``openai``), ``stream: true`` for streamed
answers, ``target: structured`` for the structured answer wherever it is carried, and
``kind: tool`` plus the concrete ``route:`` for each tool upstream. A family is only built for a
shape that is present, so every derived scenario has something to fire on.

Faults are kept short in time (latency of at most 2 s) so a derived run of every family takes
seconds. A silent tool or a stalled stream is the exception that proves a rule: it only shows a
missing timeout if it outlasts the SUT's deadline, so with the contract's deadline known (from
the cases file) it lasts past that deadline and the runner's grace (:func:`silence_ms`); the
runner stops waiting at the deadline, so this costs no more time. Without a deadline it lasts
:data:`MAX_WAIT_MS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from faultkit.derive.shapes import (
    ProviderShape,
    Shapes,
    ToolRouteShape,
    facts_to_drop,
    structured_field,
    summary,
)
from faultkit.oracle.contract import grace_ms
from faultkit.scenario import Scenario

MAX_WAIT_MS = 5000  # a derived fault's silence (timeout, stall) when no deadline is known
# The faults whose silence outlasts the deadline, and the parameter that says how long.
SILENCES = {"timeout": "timeout_ms", "stall": "stall_ms"}
PROVIDER_NAMES = {"openai": "OpenAI", "anthropic": "Anthropic"}


def silence_ms(deadline_ms: float | None) -> float:
    """How long a derived tool stays silent or a stream stalls: past ``deadline_ms`` plus the
    grace the runner allows after it (:func:`faultkit.oracle.contract.grace_ms`) plus a
    second, so an app with no timeout of its own is still waiting when the runner gives up,
    and is judged a ``hang``; :data:`MAX_WAIT_MS` when no deadline is known."""
    if deadline_ms is None:
        return MAX_WAIT_MS
    return max(MAX_WAIT_MS, deadline_ms + grace_ms(deadline_ms) + 1000.0)


def _scenario(doc: Doc, silence: float) -> Scenario:
    """The scenario ``doc`` describes, its silences lasting ``silence`` ms (and said so in its
    description, where ``{silence}`` stands for the seconds)."""
    for rule in doc["rules"]:
        field = SILENCES.get(rule["fault"]["type"])
        if field is not None:
            rule["fault"][field] = silence
    doc["description"] = doc["description"].replace("{silence}", f"{silence / 1000:g}")
    return Scenario.model_validate(doc)


@dataclass(frozen=True)
class Derived:
    """A derived scenario, what it targets and why it was derived (for ``scenarios derive``)."""

    scenario: Scenario
    targets: str
    why: str


Doc = dict[str, Any]


def _expect(outcomes: list[str], max_attempts: int, deadline_ms: int) -> Doc:
    return {"outcomes": outcomes, "max_attempts": max_attempts, "deadline_ms": deadline_ms}


RECOVER = ["retried", "fallback", "controlled_error"]


def _calls(shape: ProviderShape) -> str:
    formats = summary(shape.formats, "formats")
    hosts = summary(shape.hosts, "hosts")
    files = summary(shape.files, "cassettes")
    return (
        f"{shape.calls} recorded {PROVIDER_NAMES.get(shape.provider, shape.provider)} "
        f"call(s) ({formats}, host {hosts}) in {files}"
    )


def _rule(name: str, match: Doc, fault: Doc, when: Doc | None = None) -> Doc:
    rule: Doc = {"name": name, "match": match, "fault": fault}
    if when:
        rule["when"] = when
    return rule


# -- provider-wide families ------------------------------------------------------------------------
# Each maker returns the rules for one provider (none when the family does not apply to it).
ProviderRules = Callable[[ProviderShape], list[Doc]]


def _rate_limited(p: ProviderShape) -> list[Doc]:
    fault = {"type": "http_error", "status": 429, "retry_after_s": 1}
    return [_rule(f"{p.provider}-rate-limited", {"provider": p.provider}, fault, {"calls": "1-3"})]


def _no_quota(p: ProviderShape) -> list[Doc]:
    if p.provider != "openai":  # only OpenAI has a 429 that never heals
        return []
    fault = {"type": "http_error", "status": 429, "error_type": "insufficient_quota"}
    return [_rule("openai-no-quota", {"provider": "openai"}, fault)]


def _overloaded(p: ProviderShape) -> list[Doc]:
    if p.provider == "anthropic":
        fault: Doc = {"type": "http_error", "status": 529, "should_retry": True}
    elif p.provider == "google":  # Gemini: 503 UNAVAILABLE, "The model is overloaded"
        fault = {"type": "http_error", "status": 503}
    else:
        fault = {"type": "http_error", "status": 503, "error_type": "server_is_overloaded"}
    return [_rule(f"{p.provider}-overloaded", {"provider": p.provider}, fault, {"calls": "1-6"})]


def _server_error(p: ProviderShape) -> list[Doc]:
    fault = {"type": "http_error", "status": 500}
    return [_rule(f"{p.provider}-server-error", {"provider": p.provider}, fault, {"nth": 1})]


def _truncated_body(p: ProviderShape) -> list[Doc]:
    fault = {"type": "malformed_body", "kind": "truncated_json", "truncate_at": 0.6}
    return [_rule(f"{p.provider}-truncated-body", {"provider": p.provider}, fault, {"nth": 1})]


def _in_turn(p: ProviderShape, *faults: tuple[str, Doc]) -> list[Doc]:
    """One rule per fault, the first on the provider's call 1, the next on call 2, ..."""
    match = {"provider": p.provider}
    return [
        _rule(f"{p.provider}-{label}", match, fault, {"nth": n})
        for n, (label, fault) in enumerate(faults, start=1)
    ]


def _html_gateway(p: ProviderShape) -> list[Doc]:
    return _in_turn(
        p,
        ("html-on-200", {"type": "malformed_body", "kind": "html_200"}),
        ("html-on-502", {"type": "malformed_body", "kind": "html_200", "status": 502}),
    )


def _reset(p: ProviderShape) -> list[Doc]:
    return _in_turn(
        p,
        ("reset-before-head", {"type": "reset", "at": "before_head"}),
        ("reset-mid-body", {"type": "reset", "at": "mid_body"}),
    )


def _slowdown(p: ProviderShape) -> list[Doc]:
    rules = [
        _rule(
            f"{p.provider}-slow-head",
            {"provider": p.provider},
            {"type": "latency", "latency_ms": 1200, "jitter_ms": 400},
        )
    ]
    if p.streams:
        rules.append(
            _rule(
                f"{p.provider}-slow-first-token",
                {"provider": p.provider, "stream": True},
                {"type": "slow_first_token", "delay_ms": 1500, "heartbeat_ms": 500},
            )
        )
    return rules


def _cut_stream(p: ProviderShape) -> list[Doc]:
    if not p.streams:
        return []
    match = {"provider": p.provider, "stream": True}
    # Cut inside an event that carries JSON, never the last one, on every provider. Dropping
    # only the terminator (Anthropic's ``message_stop``) is no cut: the stop reason came in an
    # earlier event, the answer is whole and the oracle rightly passes an app that uses it
    # (faultkit.oracle.checks.truncated_output), so the family would demand a retry that a
    # correct app has no reason to make (pydantic-ai never shows it the terminator).
    at_event = max(0, min(3, p.min_stream_events - 2))
    fault = {"type": "broken_sse", "kind": "cut_mid_event", "at_event": at_event, "end": "close"}
    return [_rule(f"{p.provider}-cut-stream", match, fault, {"nth": 1})]


def _stall(p: ProviderShape) -> list[Doc]:
    if not p.streams:
        return []
    fault = {
        "type": "stall",
        "after_events": max(0, min(3, p.min_stream_events - 1)),
        "stall_ms": MAX_WAIT_MS,
        "heartbeat_ms": 1000,
        "then": "close",
    }
    match = {"provider": p.provider, "stream": True}
    return [_rule(f"{p.provider}-stall-with-heartbeats", match, fault, {"nth": 1})]


# Tool-call and drift faults match every call of the provider: they alter only answers that
# carry a tool call (a structured answer), and skip the others, so they fire wherever the
# app's conversation puts that answer.
def _invalid_arguments(p: ProviderShape) -> list[Doc]:
    if not p.tool_call_answers:
        return []
    fault = {"type": "tool_call", "kind": "invalid_arguments", "call": 0}
    return [_rule(f"{p.provider}-broken-arguments", {"provider": p.provider}, fault)]


def _unknown_tool(p: ProviderShape) -> list[Doc]:
    if not p.tool_call_answers:
        return []
    fault = {"type": "tool_call", "kind": "unknown_tool", "call": 0}
    return [_rule(f"{p.provider}-unknown-tool", {"provider": p.provider}, fault)]


def _drift(p: ProviderShape) -> list[Doc]:
    if not p.structured_answers:
        return []
    fault: Doc = {"type": "schema_drift", "target": "structured", "op": "rename"}
    path = structured_field(p)
    if path is not None:
        fault["path"] = path
    return [_rule(f"{p.provider}-rename-field", {"provider": p.provider}, fault)]


# The model's own misbehaviour: the first answer stops at the token limit, or is a refusal.
# Both skip a call with no answer in it (an error), so they match call 1 of the provider,
# which the recordings show answered.
def _token_limit(p: ProviderShape) -> list[Doc]:
    if not p.answers:
        return []
    fault = {"type": "token_limit", "keep": 0.5}
    return [_rule(f"{p.provider}-token-limit", {"provider": p.provider}, fault, {"nth": 1})]


def _refusal(p: ProviderShape) -> list[Doc]:
    if not p.answers:
        return []
    fault = {"type": "refusal", "kind": "refusal"}
    return [_rule(f"{p.provider}-refusal", {"provider": p.provider}, fault, {"nth": 1})]


@dataclass(frozen=True)
class ProviderFamily:
    name: str
    seed: int
    rules: ProviderRules
    expect: Doc
    what: str
    needs: str = ""  # what the provider must show: "" (any call), streams, tool calls, ...


PROVIDER_FAMILIES: tuple[ProviderFamily, ...] = (
    ProviderFamily(
        "429-burst",
        429,
        _rate_limited,
        _expect(RECOVER, 4, 30000),
        "The first three calls to each provider get HTTP 429 with `retry-after: 1`. A controlled "
        "SUT waits at least the advertised second, stops after a bounded number of attempts, "
        "then answers or returns an explicit rate-limit error.",
    ),
    ProviderFamily(
        "quota-exhausted",
        37,
        _no_quota,
        _expect(["fallback", "controlled_error"], 3, 15000),
        "Every OpenAI call gets HTTP 429 `insufficient_quota`, which no retry heals. A "
        "controlled SUT reads the code, stops retrying, and falls back or returns an explicit "
        "error.",
    ),
    ProviderFamily(
        "529-overload",
        529,
        _overloaded,
        _expect(RECOVER, 3, 30000),
        "The provider is overloaded for its first six calls (Anthropic 529 overloaded_error, "
        "OpenAI 503 server_is_overloaded, Gemini 503 UNAVAILABLE). A controlled SUT keeps its "
        "attempts bounded, then falls back or returns an explicit error.",
    ),
    ProviderFamily(
        "500-server-error",
        500,
        _server_error,
        _expect(RECOVER, 4, 20000),
        "The first call to each provider gets HTTP 500. A controlled SUT retries a bounded "
        "number of times or returns an explicit error; it never crashes.",
    ),
    ProviderFamily(
        "malformed-json-output",
        11,
        _truncated_body,
        _expect(RECOVER, 3, 15000),
        "The first answer is cut partway through its JSON (on a stream, one event's JSON). A "
        "controlled SUT catches the decode error and retries or returns an explicit error.",
    ),
    ProviderFamily(
        "html-gateway-error",
        29,
        _html_gateway,
        _expect(RECOVER, 4, 20000),
        "A gateway in front of the provider answers with an HTML error page, first with status "
        "200, then 502. A controlled SUT checks what it got and retries or returns an explicit "
        "error; it never shows the HTML.",
    ),
    ProviderFamily(
        "connection-reset",
        41,
        _reset,
        _expect(RECOVER, 4, 20000),
        "The first call's connection is reset before any response, the second partway through "
        "its body. A controlled SUT retries a bounded number of times or returns an explicit "
        "error, and never uses the part that arrived.",
    ),
    ProviderFamily(
        "provider-slowdown",
        1,
        _slowdown,
        _expect(["pass", *RECOVER], 3, 20000),
        "The provider is slow but healthy: every answer's head comes 0.8-1.6 s late, and a "
        "streamed answer's first token 1.5 s after that, with keep-alive comments. A "
        "controlled SUT answers within its deadline or gives up explicitly; it never piles up "
        "retries.",
    ),
    ProviderFamily(
        "truncated-stream",
        7,
        _cut_stream,
        _expect(RECOVER, 3, 20000),
        "The first streamed answer stops early: cut inside one of its first events, then the "
        "connection closes. A controlled SUT notices the incomplete stream and retries or "
        "returns an explicit error, never a half answer.",
        "streams",
    ),
    ProviderFamily(
        "mid-stream-stall",
        31,
        _stall,
        _expect(RECOVER, 3, 30000),
        "The first streamed answer goes silent for {silence} s after a few events while keep-alive "
        "comments arrive, then closes. A controlled SUT enforces its own idle or overall "
        "deadline and retries or returns an explicit error.",
        "streams",
    ),
    ProviderFamily(
        "tool-call-invalid-arguments",
        23,
        _invalid_arguments,
        _expect(["retried", "controlled_error"], 3, 15000),
        "The model's tool calls carry arguments that are not valid JSON. A controlled SUT "
        "validates them before calling the tool, then asks again or returns an explicit error.",
        "tool calls",
    ),
    ProviderFamily(
        "tool-call-unknown-tool",
        27,
        _unknown_tool,
        _expect(["retried", "controlled_error"], 3, 15000),
        "The model's tool calls name a tool the SUT never offered. A controlled SUT refuses to "
        "run it, then asks again or returns an explicit error.",
        "tool calls",
    ),
    ProviderFamily(
        "schema-drift-structured-output",
        13,
        _drift,
        _expect(RECOVER, 3, 15000),
        "The model's structured answer (wherever it is carried) comes back with a field "
        "renamed. A controlled SUT validates it against its own schema and retries, falls back "
        "or returns an explicit error; it never returns the drifted answer as a success.",
        "structured answers",
    ),
    ProviderFamily(
        "token-limit",
        47,
        _token_limit,
        _expect(RECOVER, 3, 15000),
        "The model's first answer stops at the output-token limit: its text or its tool call's "
        "arguments cut in half, with valid framing and the stop reason saying so "
        '(`finish_reason: "length"`, `status: "incomplete"`, `stop_reason: "max_tokens"`). A '
        "controlled SUT reads the stop reason and asks again, falls back or returns an "
        "explicit error; it never returns the cut answer as a whole one.",
        "answers",
    ),
    ProviderFamily(
        "refusal",
        53,
        _refusal,
        _expect(["pass", *RECOVER], 3, 15000),
        "The model declines its first answer (OpenAI's `refusal` field, Responses' refusal "
        'part, Anthropic\'s `stop_reason: "refusal"`), with no tool call. A controlled SUT '
        "asks again, falls back, says in its own words that it has no answer, or returns an "
        "explicit error; it never passes the refusal on as a normal answer.",
        "answers",
    ),
)


def _provider_family(
    family: ProviderFamily, providers: list[ProviderShape], silence: float
) -> Derived | None:
    rules: list[Doc] = []
    used: list[ProviderShape] = []
    for shape in providers:
        made = family.rules(shape)
        if made:
            rules.extend(made)
            used.append(shape)
    if not rules:
        return None
    evidence = []
    for shape in used:
        found = {
            "streams": f"{shape.streams} streamed answer(s)",
            "tool calls": f"{shape.tool_call_answers} answer(s) with tool calls",
            "structured answers": f"{len(shape.structured_answers)} structured answer(s)",
            "answers": f"{shape.answers} answer(s) with text or tool calls",
        }.get(family.needs)
        evidence.append(f"{found} among {_calls(shape)}" if found else _calls(shape))
    why = "; ".join(evidence)
    names = "+".join(s.provider for s in used)
    targets = f"{names} {family.needs}".strip() if family.needs else f"{names} calls"
    doc = {
        "name": family.name,
        "description": f"{family.what} Derived from {why}.",
        "seed": family.seed,
        "rules": rules,
        "expect": family.expect,
    }
    return Derived(_scenario(doc, silence), targets, why)


# -- per-tool-route families -----------------------------------------------------------------------
def route_slug(route: str) -> str:
    """``route`` as the tail of a scenario name (letters, digits, ``_.-`` only)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", route).strip("-.")
    return slug or "tool"


def _tool_match(route: ToolRouteShape) -> Doc:
    return {"route": route.route, "kind": "tool"}


def _tool_evidence(route: ToolRouteShape) -> str:
    return (
        f"{route.calls} recorded call(s) to tool route {route.route} "
        f"({summary(route.formats, 'formats')}) in {summary(route.files, 'cassettes')}"
    )


def _per_tool(route: ToolRouteShape, match: Doc, name: str, fault: Doc) -> list[Doc]:
    """One rule, or one per MCP tool (so MCP's handshake and listing are left alone)."""
    if route.is_mcp and route.mcp_tools:
        return [
            _rule(f"{name}-{route_slug(tool)}", {**match, "tool": tool}, fault)
            for tool in route.mcp_tools
        ]
    return [_rule(name, match, fault)]


def _tool_families(route: ToolRouteShape, silence: float) -> list[Derived]:
    out: list[Derived] = []
    slug = route_slug(route.route)
    match = _tool_match(route)
    evidence = _tool_evidence(route)
    target = f"tool route {route.route}"

    def add(family: str, seed: int, what: str, rules: list[Doc], expect: Doc, why: str) -> None:
        doc = {
            "name": f"{family}.{slug}",
            "description": f"{what} Derived from {why}.",
            "seed": seed,
            "rules": rules,
            "expect": expect,
        }
        out.append(Derived(_scenario(doc, silence), target, why))

    add(
        "tool-timeout",
        19,
        f"The tool at {route.route} accepts the connection and says nothing for {{silence}} s "
        "before dropping it. A controlled SUT gives the tool call its own, shorter timeout, "
        "retries a bounded number of times, then says the tool is unavailable; it never "
        "answers with facts it did not receive.",
        [_rule("tool-hangs", match, {"type": "timeout", "timeout_ms": MAX_WAIT_MS})],
        _expect(["fallback", "controlled_error"], 3, 20000),
        evidence,
    )
    add(
        "tool-error",
        503,
        f"The tool at {route.route} fails: HTTP 500 on its first call, 503 on every later one. "
        "A controlled SUT retries a bounded number of times, then falls back or returns an "
        "explicit error; it never answers as if the tool had delivered.",
        [
            _rule("tool-500", match, {"type": "http_error", "status": 500}, {"nth": 1}),
            _rule("tool-503", match, {"type": "http_error", "status": 503}, {"after": 1}),
        ],
        _expect(["fallback", "controlled_error"], 3, 20000),
        evidence,
    )
    fields = facts_to_drop(route)
    if fields:
        listed = ", ".join(f"`{f}`" for f in fields)
        add(
            "partial-tool-data",
            17,
            f"The tool at {route.route} answers successfully but leaves out {listed}; the "
            "replayed model answer was recorded with the full data. A controlled SUT checks the "
            "answer against the evidence and says what is unknown, or returns an explicit "
            "error; it never states a removed value as fact.",
            _per_tool(
                route,
                match,
                "drop-fields",
                {"type": "partial_tool_data", "op": "drop_fields", "fields": fields},
            ),
            _expect(["pass", "controlled_error"], 3, 15000),
            f"{evidence}; fields its answers carry: {', '.join(fields)}",
        )
    if route.is_mcp and route.mcp_tools:
        fault: Doc = {"type": "partial_tool_data", "op": "drop_fields", "is_error": True}
        if fields:
            fault["fields"] = fields
        add(
            "mcp-tool-error",
            43,
            f"The MCP tool at {route.route} answers `isError: true` with only part of its "
            "content. A controlled SUT treats the result as a failure and returns an explicit "
            "error or falls back; it never uses the partial content as a full answer.",
            _per_tool(route, match, "is-error", fault),
            _expect(["fallback", "controlled_error"], 3, 15000),
            f"{evidence}; MCP tools: {', '.join(route.mcp_tools)}",
        )
    return out


def instantiate(shapes: Shapes, deadline_ms: float | None = None) -> list[Derived]:
    """Every family that applies to ``shapes``: provider-wide ones in catalogue order, then
    the tool routes' in route order. ``deadline_ms``: the SUT's deadline (the contract's),
    which silences outlast (:func:`silence_ms`)."""
    silence = silence_ms(deadline_ms)
    providers = [shapes.providers[p] for p in sorted(shapes.providers)]
    out = [
        d for f in PROVIDER_FAMILIES if (d := _provider_family(f, providers, silence)) is not None
    ]
    for route in sorted(shapes.tool_routes):
        out.extend(_tool_families(shapes.tool_routes[route], silence))
    return out
