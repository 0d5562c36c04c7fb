"""untraceable: a required trace is missing or incomplete, or a trace contradicts the ledger."""

from __future__ import annotations

from typing import Any

from oracle_world import Answer, OrderLookupError, World, model_answer, rules

from faultkit.oracle import Contract, DecisionTrace, ToolOutput, emit_trace

CONTRACT = Contract(output_model=Answer, error_types=[OrderLookupError], trace_required=True)
TOOL_DOWN = "{match: {route: orders.example}, fault: {type: http_error, status: 503}}"


def traced(*, model: str | None = None, tool_ok: bool | None = None, emit: bool = False):
    """A SUT returning ``(answer, trace)``; ``model``/``tool_ok`` override what it reports."""

    def sut(world: World) -> Any:
        tool = world.order()
        chat = world.chat()
        answer = Answer.model_validate(model_answer(chat))
        ok = tool.status_code == 200 if tool_ok is None else tool_ok
        trace = DecisionTrace(
            prompt_version="support-v3",
            model_version=model or chat.json()["model"],
            context_ids=["order:1042"],
            tool_outputs=[ToolOutput(tool="orders", ok=ok, output=tool.json() if ok else None)],
            validation_result=True,
            decision_path=["lookup_order", "call_model", "validate", "answer"],
        )
        if emit:
            emit_trace(trace)
            return answer
        return answer, trace

    return sut


def untraced(world: World) -> Answer:
    world.order()
    return Answer.model_validate(model_answer(world.chat()))


def test_fires_when_a_required_trace_is_missing() -> None:
    verdict = World().run(untraced, CONTRACT)
    assert verdict.kind == "untraceable"
    assert "no decision trace" in verdict.headline.summary


def test_silent_for_a_complete_consistent_trace() -> None:
    world = World()
    verdict = world.run(traced(), CONTRACT)
    assert verdict.kind == "pass", verdict.explain()


def test_silent_for_an_emitted_trace() -> None:
    verdict = World().run(traced(emit=True), CONTRACT)
    assert verdict.kind == "pass", verdict.explain()


def test_silent_when_no_trace_is_required() -> None:
    assert World().run(untraced, Contract(output_model=Answer)).kind == "pass"


def test_fires_for_an_incomplete_trace() -> None:
    def partial_trace(world: World) -> dict:
        answer = model_answer(world.chat())
        return {
            **answer,
            "trace": {
                "prompt_version": "v3",
                "model_version": "gpt-4o-mini",
                "context_ids": [],
                "tool_outputs": [],
            },
        }

    verdict = World().run(partial_trace, CONTRACT)
    assert verdict.kind == "untraceable"
    problems = " ".join(verdict.headline.values["problems"])
    assert "validation_result" in problems and "decision_path" in problems


def test_fires_when_the_trace_names_a_model_the_ledger_never_saw_answer() -> None:
    verdict = World().run(traced(model="gpt-4o"), Contract(output_model=Answer))
    assert verdict.kind == "untraceable"
    finding = verdict.headline
    assert finding.values["trace_model"] == "gpt-4o"
    assert finding.values["ledger_models"] == ["gpt-4o-mini"]
    assert finding.entry_ids == [2]


def test_fires_when_the_trace_reports_a_failed_tool_as_ok() -> None:
    world = World(rules(TOOL_DOWN))

    def claims_ok(world: World) -> Any:
        answer, trace = traced(tool_ok=False)(world)
        trace.tool_outputs[0].ok = True  # the lie
        answer.status, answer.eta = "unknown", None
        answer.summary = "The order service is unavailable."
        return answer, trace

    verdict = world.run(claims_ok, CONTRACT)
    assert verdict.kind == "untraceable"
    assert "'orders' as ok" in verdict.headline.summary
    assert verdict.headline.entry_ids == [1]


def test_fires_when_the_trace_claims_an_invalid_answer_was_valid() -> None:
    world = World(
        rules("{match: {route: openai}, fault: {type: schema_drift, op: drop, path: summary}}")
    )

    def trusting(world: World) -> Any:
        chat = world.chat()
        return model_answer(chat), DecisionTrace(
            prompt_version="v3",
            model_version=chat.json()["model"],
            context_ids=[],
            tool_outputs=[],
            validation_result={"valid": True},
            decision_path=["call_model", "answer"],
        )

    verdict = world.run(trusting, CONTRACT)
    assert verdict.kind == "invalid_output_leaked"
    assert any("passed validation" in f.summary for f in verdict.findings_of("untraceable"))
