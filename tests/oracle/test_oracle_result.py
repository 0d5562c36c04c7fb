"""Capturing what the SUT produced: value or exception, duration, and its trace."""

from __future__ import annotations

from oracle_world import Answer, OrderLookupError

from faultkit.oracle import DecisionTrace, Result, acapture, capture, emit_trace

TRACE = DecisionTrace(
    prompt_version="v1",
    model_version="gpt-4o-mini",
    context_ids=[],
    tool_outputs=[],
    validation_result=True,
    decision_path=["answer"],
)
ANSWER = Answer(order_id="1042", status="shipped", eta=None, summary="Shipped.")


def test_a_returned_pair_splits_into_answer_and_trace() -> None:
    result = capture(lambda: (ANSWER, TRACE))
    assert result.value == ANSWER.model_dump(mode="json")
    assert result.trace is not None and result.trace["decision_path"] == ["answer"]
    assert result.error is None and result.duration_ms >= 0


def test_an_embedded_trace_is_kept_in_the_value_but_left_out_of_the_answer() -> None:
    value = {**ANSWER.model_dump(), "trace": TRACE.model_dump()}
    result = Result.returned(value, 1.0)
    assert result.trace_key == "trace" and result.trace == TRACE.model_dump(mode="json")
    assert "trace" in result.value and "trace" not in result.answer


def test_an_exception_keeps_its_class_hierarchy() -> None:
    def fails() -> None:
        raise OrderLookupError("down")

    result = capture(fails)
    assert result.error is not None
    assert result.error.type == "oracle_world.OrderLookupError"
    assert "builtins.Exception" in result.error.bases
    assert result.error.message == "down"


def test_a_fake_clock_gives_exact_durations() -> None:
    ticks = iter([100.0, 350.0])
    assert capture(lambda: 1, clock=lambda: next(ticks)).duration_ms == 250.0


async def test_async_capture_collects_emitted_traces() -> None:
    async def sut() -> Answer:
        emit_trace(TRACE)
        return ANSWER

    result = await acapture(sut)
    assert result.trace == TRACE.model_dump(mode="json")
    assert result.value["order_id"] == "1042"


def test_emit_outside_a_capture_is_a_no_op() -> None:
    emit_trace(TRACE)  # must not raise or leak into the next capture
    assert capture(lambda: ANSWER).trace is None
