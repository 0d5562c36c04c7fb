"""Spans in, in-process: an app traced with the GenAI conventions (the real openai-v2
instrumentation on the official openai SDK, through faultkit's client) is judged traceable
with no DecisionTrace; spans that lack a convention attribute make it untraceable, named."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from conftest import CASSETTE, Traced
from opentelemetry.sdk.trace import TracerProvider

from faultkit.oracle import Contract
from faultkit.runner.checking import acheck, check
from faultkit.session import FaultkitSession

TRACED = Contract(trace_required=True)
QUESTION = [{"role": "user", "content": "Where is order 1234?"}]


def ask(http_client: Any) -> dict[str, Any]:
    """The app: one chat call, the tool it asks for. No DecisionTrace anywhere."""
    client = openai.OpenAI(api_key="test", http_client=http_client, max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    call = reply.choices[0].message.tool_calls[0]
    return {"tool": call.function.name, "arguments": call.function.arguments}


async def ask_async(http_client: Any) -> dict[str, Any]:
    client = openai.AsyncOpenAI(api_key="test", http_client=http_client, max_retries=0)
    reply = await client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
    return {"tool": reply.choices[0].message.tool_calls[0].function.name}


def test_an_instrumented_app_is_traceable_by_its_spans(instrumented: Traced) -> None:
    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        verdict = check(fk, ask, contract=TRACED)
    assert verdict.kind == "pass"
    spans = instrumented.exported.get_finished_spans()
    assert [s.name for s in spans] == ["chat gpt-4o-mini"]
    response_id = spans[0].attributes["gen_ai.response.id"]
    assert response_id.startswith("chatcmpl-")


def test_the_span_trace_is_what_the_oracle_judged(instrumented: Traced) -> None:
    """The facts come from the spans: the answering model (a dated snapshot of the requested
    one), the response id as context, the span names as the decision path."""
    from faultkit.oracle.result import capture

    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        result = capture(ask, fk.client())
    trace = result.trace
    assert trace is not None and trace["source"] == "otel"
    assert trace["model_version"] == "gpt-4o-mini-2024-07-18"
    assert trace["context_ids"] == [trace["prompt_version"]]
    assert trace["decision_path"] == ["chat gpt-4o-mini"]
    assert "missing_attributes" not in trace


async def test_an_async_instrumented_app_is_traceable(instrumented: Traced) -> None:
    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        verdict = await acheck(fk, ask_async, contract=TRACED)
    assert verdict.kind == "pass"


def test_without_spans_the_same_app_is_untraceable() -> None:
    """The control: no instrumentation, no DecisionTrace, so nothing to audit."""
    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        verdict = check(fk, ask, contract=TRACED, expect="untraceable")
    assert verdict.findings[0].values == {"missing": "trace"}


def test_a_dropped_response_id_is_named(instrumented: Traced) -> None:
    """faultkit drops the answer's ``id``; the instrumentation then has no
    gen_ai.response.id to record, and the verdict says which attribute of which span."""
    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        fk.inject(
            {"type": "schema_drift", "target": "body", "op": "drop", "path": "id"}, when={"nth": 1}
        )
        verdict = check(fk, ask, contract=TRACED, expect="untraceable")
    finding = next(f for f in verdict.findings if f.kind == "untraceable")
    missing = finding.values["missing_attributes"]
    assert missing == ["span 'chat gpt-4o-mini' (#1) lacks gen_ai.response.id"]
    assert "gen_ai.response.id" in finding.summary


def test_a_hand_traced_app_missing_usage_is_named(tracer_provider: Traced) -> None:
    """An app that writes its own GenAI span (real SDK, no instrumentation package) but
    leaves out the token usage."""
    tracer = tracer_provider.provider.get_tracer("app")

    def app(http_client: Any) -> dict[str, Any]:
        client = openai.OpenAI(api_key="test", http_client=http_client, max_retries=0)
        with tracer.start_as_current_span("chat gpt-4o-mini") as span:
            span.set_attribute("gen_ai.operation.name", "chat")
            span.set_attribute("gen_ai.provider.name", "openai")
            span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            reply = client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
            span.set_attribute("gen_ai.response.id", reply.id)
            span.set_attribute("gen_ai.response.model", reply.model)
        return {"tool": reply.choices[0].message.tool_calls[0].function.name}

    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        verdict = check(fk, app, contract=TRACED, expect="untraceable")
    finding = next(f for f in verdict.findings if f.kind == "untraceable")
    assert finding.values["missing_attributes"] == [
        "span 'chat gpt-4o-mini' (#1) lacks gen_ai.usage.input_tokens, gen_ai.usage.output_tokens"
    ]


def test_spans_that_name_another_model_contradict_the_ledger(tracer_provider: Traced) -> None:
    """Span facts are checked against the ledger like a returned trace: spans claiming gpt-4o
    answered, when the ledger shows gpt-4o-mini, are untraceable."""
    tracer = tracer_provider.provider.get_tracer("app")

    def app(http_client: Any) -> str:
        client = openai.OpenAI(api_key="test", http_client=http_client, max_retries=0)
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION)
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o",
            "gen_ai.response.id": reply.id,
            "gen_ai.usage.input_tokens": 1,
            "gen_ai.usage.output_tokens": 1,
        }
        tracer.start_span("chat gpt-4o", attributes=attributes).end()
        return "ok"

    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        verdict = check(fk, app, expect="untraceable")
    assert verdict.findings[0].values["trace_model"] == "gpt-4o"


def test_a_returned_decision_trace_wins_over_spans(instrumented: Traced) -> None:
    """An app that returns its own trace is judged by it, spans or not."""

    def app(http_client: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        answer = ask(http_client)
        return answer, {
            "prompt_version": "v7",
            "model_version": "gpt-4o-mini",
            "context_ids": [],
            "tool_outputs": [],
            "validation_result": True,
            "decision_path": ["ask"],
        }

    from faultkit.oracle.result import capture

    with FaultkitSession(cassettes=[CASSETTE]) as fk:
        result = capture(app, fk.client())
    assert result.trace is not None and result.trace["prompt_version"] == "v7"


def test_install_refuses_what_is_not_an_sdk_provider() -> None:
    from opentelemetry.trace import NoOpTracerProvider

    from faultkit.otel.processor import install

    assert install(NoOpTracerProvider()) is False
    assert install(TracerProvider()) is True


@pytest.mark.parametrize("attribute", ["gen_ai.system", "gen_ai.provider.name"])
def test_old_and_new_provider_names_are_the_same_fact(attribute: str) -> None:
    from faultkit.otel.spans import Span, missing_facts

    span = Span(
        name="chat m",
        attributes={
            "gen_ai.operation.name": "chat",
            attribute: "openai",
            "gen_ai.request.model": "m",
            "gen_ai.response.model": "m",
            "gen_ai.response.id": "r",
            "gen_ai.usage.prompt_tokens": 1,
            "gen_ai.usage.output_tokens": 1,
        },
    )
    assert missing_facts(span) == []


def test_captured_tool_calls_join_the_context(
    tracer_provider: Traced, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With message content captured (the instrumentation's opt-in, latest conventions), the
    tool call the model asked for is in ``gen_ai.output.messages``; its id joins the context."""
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    from faultkit.oracle.result import capture

    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider.provider)
    try:
        with FaultkitSession(cassettes=[CASSETTE]) as fk:
            result = capture(ask, fk.client())
    finally:
        instrumentor.uninstrument()
    trace = result.trace
    assert trace is not None
    (call,) = trace["tool_calls"]
    assert call["name"] == "get_order" and call["id"].startswith("call_")
    assert trace["context_ids"] == [trace["prompt_version"], call["id"]]
