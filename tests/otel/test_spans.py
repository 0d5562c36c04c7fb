"""The pure mapping from spans to trace facts (:mod:`faultkit.otel.spans`), for span shapes
the openai-v2 instrumentation does not make: tool spans, a prompt name, OpenInference's
attribute names, spans that are not GenAI at all."""

from __future__ import annotations

from typing import Any

from faultkit.otel.spans import Span, trace_from_spans

CHAT = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.usage.input_tokens": 10,
    "gen_ai.usage.output_tokens": 5,
}


def _span(name: str, start: int, **attributes: Any) -> Span:
    return Span(name=name, start_ns=start, end_ns=start + 1, attributes=attributes)


def test_a_tool_loop_becomes_path_context_and_tool_outputs() -> None:
    spans = [
        _span("chat gpt-4o-mini", 3, **CHAT, **{"gen_ai.response.id": "r2"}),
        _span("chat gpt-4o-mini", 1, **CHAT, **{"gen_ai.response.id": "r1"}),
        Span(
            name="execute_tool get_order",
            start_ns=2,
            attributes={
                "gen_ai.operation.name": "execute_tool",
                "gen_ai.tool.name": "get_order",
                "gen_ai.tool.call.id": "call_1",
            },
            status="error",
            status_message="orders answered 503",
        ),
    ]
    trace = trace_from_spans(spans)
    assert trace is not None
    assert trace["decision_path"] == [
        "chat gpt-4o-mini",
        "execute_tool get_order",
        "chat gpt-4o-mini",
    ]
    assert trace["context_ids"] == ["r1", "r2", "call_1"]
    assert trace["prompt_version"] == "r2"  # no prompt name: the answer's response id
    assert trace["tool_outputs"] == [
        {"tool": "get_order", "ok": False, "output": None, "error": "orders answered 503"}
    ]
    assert "missing_attributes" not in trace


def test_a_prompt_name_is_the_prompt_version() -> None:
    span = _span("chat", 1, **CHAT, **{"gen_ai.response.id": "r", "gen_ai.prompt.name": "v3"})
    trace = trace_from_spans([span])
    assert trace is not None and trace["prompt_version"] == "v3"


def test_openinference_names_are_the_same_facts() -> None:
    span = _span(
        "ChatCompletion",
        1,
        **{
            "openinference.span.kind": "LLM",
            "llm.provider": "openai",
            "llm.model_name": "gpt-4o-mini",
            "llm.invocation_parameters.model": "gpt-4o-mini",
            "llm.token_count.prompt": 3,
            "llm.token_count.completion": 4,
            "llm.prompt_template.version": "support-v2",
        },
    )
    trace = trace_from_spans([span])
    assert trace is not None
    assert trace["model_version"] == "gpt-4o-mini"
    assert trace["prompt_version"] == "support-v2"
    # OpenInference has no response id attribute: named, as the convention calls it.
    assert trace["missing_attributes"] == ["span 'ChatCompletion' (#1) lacks gen_ai.response.id"]


def test_spans_with_no_genai_span_say_so() -> None:
    trace = trace_from_spans([_span("GET /orders", 1, **{"http.request.method": "GET"})])
    assert trace is not None
    assert trace["missing_attributes"] == [
        "no GenAI inference span (gen_ai.operation.name chat) among 1 span(s): 'GET /orders'"
    ]


def test_faultkits_own_spans_are_not_the_apps_trace() -> None:
    assert trace_from_spans([_span("faultkit.fault http_error", 1)]) is None
    assert trace_from_spans([]) is None
