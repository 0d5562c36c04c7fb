"""Logical calls and attempts: what the oracle counts retries with."""

from __future__ import annotations

import json
from typing import Any

from faultkit.ledger import AppliedFault, Conversation, Ledger, conversation_of
from faultkit.oracle import Contract, Result
from faultkit.oracle.judge import judge


def _open(
    ledger: Ledger, body: bytes, retry: str | None = None, route: str = "openai"
) -> tuple[int, int]:
    e = ledger.open(
        route=route,
        method="POST",
        url="https://x/v1/chat/completions",
        fmt="openai_chat",
        model=None,
        body=body,
        retry_count=retry,
        arrival_ms=0.0,
    )
    return e.logical_call, e.attempt


def test_stainless_retry_count_marks_attempts() -> None:
    ledger = Ledger()
    assert _open(ledger, b"a", "0") == (1, 1)
    assert _open(ledger, b"a", "1") == (1, 2)
    assert _open(ledger, b"a", "2") == (1, 3)
    assert _open(ledger, b"b", "0") == (2, 1)


def _fail(ledger: Ledger, status: int = 500, ending: str = "completed") -> None:
    last = ledger.entries[-1]
    last.status = status
    ledger.finish(last.id, ending=ending, end_ms=1.0)


def test_identical_request_after_a_failure_is_a_retry_without_the_header() -> None:
    ledger = Ledger()
    assert _open(ledger, b"a") == (1, 1)
    _fail(ledger, 429)
    assert _open(ledger, b"a") == (1, 2)
    _fail(ledger, 200, ending="reset")
    assert _open(ledger, b"a") == (1, 3)
    assert _open(ledger, b"b") == (2, 1)


def test_identical_request_after_a_success_or_while_pending_is_a_new_call() -> None:
    ledger = Ledger()
    assert _open(ledger, b"a") == (1, 1)
    assert _open(ledger, b"a") == (2, 1)  # the first is still pending: concurrent users
    _fail(ledger, 200)
    assert _open(ledger, b"a") == (3, 1)  # the previous one succeeded


def test_retry_count_header_follows_its_own_request_among_concurrent_ones() -> None:
    ledger = Ledger()
    assert _open(ledger, b"a", "0") == (1, 1)
    assert _open(ledger, b"b", "0") == (2, 1)
    assert _open(ledger, b"a", "1") == (1, 2)


def test_routes_are_counted_separately() -> None:
    ledger = Ledger()
    assert _open(ledger, b"a", route="openai") == (1, 1)
    _fail(ledger)
    assert _open(ledger, b"q", route="orders") == (1, 1)
    assert _open(ledger, b"a", route="openai") == (1, 2)


def test_finish_records_timings_and_ending() -> None:
    ledger = Ledger()
    _open(ledger, b"a")
    ledger.finish(1, ending="reset", end_ms=12.5, first_byte_ms=3.0, bytes_sent=42)
    entry = ledger.get(1)
    assert (entry.ending, entry.end_ms, entry.first_byte_ms, entry.bytes_sent) == (
        "reset",
        12.5,
        3.0,
        42,
    )
    assert ledger.to_json()[0]["ending"] == "reset"


def test_a_bounded_ledger_drops_the_oldest_and_counts_them() -> None:
    ledger = Ledger(max_entries=3)
    for body in (b"a", b"b", b"c", b"d", b"e"):
        _open(ledger, body)
    assert [e.id for e in ledger.entries] == [3, 4, 5]  # ids keep counting
    assert len(ledger) == 3 and ledger.dropped == 2
    assert ledger.get(4).id == 4
    ledger.finish(1, ending="completed", end_ms=1.0)  # dropped meanwhile: nothing to record
    ledger.finish(5, ending="reset", end_ms=2.0)
    assert ledger.get(5).ending == "reset"
    try:
        ledger.get(2)
    except IndexError:
        pass
    else:
        raise AssertionError("a dropped entry must not be returned")
    # A dropped request is forgotten: its repeat is a new logical call, not a retry.
    assert _open(ledger, b"a", "1") == (6, 1)
    ledger.reset()
    assert ledger.dropped == 0 and _open(ledger, b"z") == (1, 1)


# -- retries the app makes itself: what is observable decides, not the header ------------------


def _degrade(ledger: Ledger, fault: str = "schema_drift") -> None:
    """The last entry came back whole (HTTP 200) but a fault changed what it meant."""
    last = ledger.entries[-1]
    last.status = 200
    last.faults.append(AppliedFault(rule="r", type=fault, params={}))
    ledger.finish(last.id, ending="completed", end_ms=1.0)


def _ok(ledger: Ledger) -> None:
    _fail(ledger, 200)


def test_an_app_loop_with_retry_count_zero_is_one_logical_call() -> None:
    # openai.OpenAI(max_retries=0) in the app's own retry loop: "0" on every attempt.
    ledger = Ledger()
    assert _open(ledger, b"a", "0") == (1, 1)
    _fail(ledger, 429)
    assert _open(ledger, b"a", "0") == (1, 2)
    _fail(ledger, 429)
    assert _open(ledger, b"a", "0") == (1, 3)
    _ok(ledger)
    assert _open(ledger, b"a", "0") == (2, 1)  # the previous copy succeeded: a new call


def test_sdk_retries_inside_an_app_loop_keep_counting() -> None:
    ledger = Ledger()
    for retry, expected in (("0", (1, 1)), ("1", (1, 2)), ("0", (1, 3)), ("1", (1, 4))):
        assert _open(ledger, b"a", retry) == expected
        _fail(ledger, 503)


def test_the_same_request_after_a_degraded_answer_is_a_retry() -> None:
    # instructor's bad-JSON retry, dspy and litellm num_retries: the same body again.
    ledger = Ledger()
    assert _open(ledger, b"a", "0") == (1, 1)
    _degrade(ledger, "malformed_body")
    assert _open(ledger, b"a", "0") == (1, 2)
    _degrade(ledger, "schema_drift")
    assert _open(ledger, b"a", "0") == (1, 3)


def test_a_timing_fault_alone_does_not_make_the_next_copy_a_retry() -> None:
    ledger = Ledger()
    _open(ledger, b"a")
    _degrade(ledger, "latency")
    assert _open(ledger, b"a") == (2, 1)


def test_a_client_that_gave_up_and_sends_again_retries() -> None:
    ledger = Ledger()
    _open(ledger, b"a")
    ledger.finish(1, ending="client_closed", end_ms=5.0)
    assert _open(ledger, b"a") == (1, 2)


QUESTION = {"role": "user", "content": "Where is order 1042? Answer as JSON."}
BAD = {"role": "assistant", "content": '{"order_id": 1042, "status_v2": "shipped"}'}
FIX = {"role": "user", "content": "Validation failed: status is required. Fix the errors."}
SYSTEM = {"role": "system", "content": "You answer order questions."}


def _chat(*messages: dict[str, Any], model: str = "gpt-4o-mini", **extra: Any) -> bytes:
    return json.dumps({"model": model, "messages": list(messages), **extra}).encode()


def _ask(ledger: Ledger, body: bytes, fmt: str = "openai_chat", model: str = "gpt-4o-mini"):
    url = {"openai_chat": "/v1/chat/completions", "anthropic_messages": "/v1/messages"}
    e = ledger.open(
        route="openai",
        method="POST",
        url="https://x" + url.get(fmt, "/v1/responses"),
        fmt=fmt,
        model=model,
        body=body,
        retry_count="0",
        arrival_ms=0.0,
    )
    return e.logical_call, e.attempt


def test_a_reask_with_the_bad_answer_and_a_correction_is_the_next_attempt() -> None:
    # pydantic-ai output retries, instructor re-asks: the conversation grows by the bad answer
    # and the validation error.
    ledger = Ledger()
    assert _ask(ledger, _chat(SYSTEM, QUESTION)) == (1, 1)
    _degrade(ledger)
    assert _ask(ledger, _chat(SYSTEM, QUESTION, BAD, FIX)) == (1, 2)
    _degrade(ledger)
    again = {"role": "user", "content": "Still invalid."}
    assert _ask(ledger, _chat(SYSTEM, QUESTION, BAD, FIX, BAD, again)) == (1, 3)


def test_a_reask_with_a_tightened_instruction_is_the_next_attempt() -> None:
    ledger = Ledger()
    assert _ask(ledger, _chat(SYSTEM, QUESTION)) == (1, 1)
    _degrade(ledger)
    strict = {"role": "system", "content": "Answer ONLY with JSON matching the schema."}
    assert _ask(ledger, _chat(strict, QUESTION)) == (1, 2)  # a changed system prompt
    _fail(ledger, 500)
    narrowed = {"role": "user", "content": QUESTION["content"] + " Use the schema exactly."}
    assert _ask(ledger, _chat(strict, narrowed)) == (1, 3)  # the question, tightened
    _degrade(ledger)
    assert _ask(ledger, _chat(strict, narrowed, temperature=0)) == (1, 4)  # other parameters


def test_a_different_question_or_model_after_a_degraded_answer_is_a_new_call() -> None:
    ledger = Ledger()
    assert _ask(ledger, _chat(SYSTEM, QUESTION)) == (1, 1)
    _degrade(ledger)
    other = {"role": "user", "content": "Can I change my delivery address?"}
    assert _ask(ledger, _chat(SYSTEM, other)) == (2, 1)
    # A fallback model asks the same conversation elsewhere: a fallback, not a retry.
    fallback = _chat(SYSTEM, QUESTION, model="gpt-4.1-mini")
    assert _ask(ledger, fallback, model="gpt-4.1-mini") == (3, 1)


# The model asks for a tool, and the app sends the tool's answer back: an agent's next step.
TOOL_CALL = {
    "role": "assistant",
    "content": None,
    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_order"}}],
}
TOOL_RESULT = {"role": "tool", "tool_call_id": "c1", "content": '{"status": "shipped"}'}


def test_an_agent_step_after_a_healthy_answer_is_a_new_call() -> None:
    ledger = Ledger()
    assert _ask(ledger, _chat(SYSTEM, QUESTION)) == (1, 1)
    _ok(ledger)
    assert _ask(ledger, _chat(SYSTEM, QUESTION, TOOL_CALL, TOOL_RESULT)) == (2, 1)


def test_the_step_after_a_degraded_answer_whose_tool_call_ran_is_a_new_call() -> None:
    # A drift in the answer's envelope left its tool call usable: the app ran the tool, then
    # sent the result back. That is the next step, not a re-ask of the drifted answer (which
    # also extends its conversation); found by faultkit explore on the robust example app.
    ledger = Ledger()
    assert _ask(ledger, _chat(SYSTEM, QUESTION)) == (1, 1)
    ledger.entries[-1].tool_calls = ["get_order"]
    _degrade(ledger)
    ledger.open(
        route="orders",
        method="GET",
        url="https://orders.example/orders/1042",
        fmt="json",
        model=None,
        body=b"",
        retry_count=None,
        arrival_ms=1.0,
    )
    assert _ask(ledger, _chat(SYSTEM, QUESTION, TOOL_CALL, TOOL_RESULT)) == (2, 1)


def test_the_rule_holds_when_the_answer_ends_after_the_tool_request_arrived() -> None:
    # Through the proxy the cut answer may be finished only after the app's next request (on
    # another connection) arrived: the ledger must not depend on which came first.
    ledger = Ledger()
    assert _ask(ledger, _chat(SYSTEM, QUESTION)) == (1, 1)
    first = ledger.entries[-1]
    first.tool_calls = ["get_order"]
    ledger.open(
        route="orders",
        method="GET",
        url="https://orders.example/orders/1042",
        fmt="json",
        model=None,
        body=b"",
        retry_count=None,
        arrival_ms=1.0,
    )
    ledger.finish(first.id, ending="client_closed", end_ms=2.0)
    assert _ask(ledger, _chat(SYSTEM, QUESTION, TOOL_CALL, TOOL_RESULT)) == (2, 1)


def test_a_reask_after_a_tool_call_the_app_did_not_run_is_the_next_attempt() -> None:
    # A broken tool call is not run: the re-ask that follows comes with no tool request.
    ledger = Ledger()
    assert _ask(ledger, _chat(SYSTEM, QUESTION)) == (1, 1)
    ledger.entries[-1].tool_calls = ["get_order"]
    _degrade(ledger)
    assert _ask(ledger, _chat(SYSTEM, QUESTION, BAD, FIX)) == (1, 2)


def test_a_reask_while_the_degraded_answer_is_still_pending_is_a_new_call() -> None:
    ledger = Ledger()
    _ask(ledger, _chat(SYSTEM, QUESTION))
    ledger.entries[-1].faults.append(AppliedFault(rule="r", type="schema_drift", params={}))
    assert _ask(ledger, _chat(SYSTEM, QUESTION, BAD, FIX)) == (2, 1)


def test_only_the_latest_attempt_of_a_call_can_be_asked_again() -> None:
    # Re-asked, then answered: the agent's next step extends the first conversation too, but
    # the call moved on, so it is a new call.
    ledger = Ledger()
    assert _ask(ledger, _chat(SYSTEM, QUESTION)) == (1, 1)
    _degrade(ledger)
    assert _ask(ledger, _chat(SYSTEM, QUESTION, BAD, FIX)) == (1, 2)
    _ok(ledger)
    good = {"role": "assistant", "content": '{"status": "shipped"}'}
    thanks = {"role": "user", "content": "Thanks! And the carrier?"}
    assert _ask(ledger, _chat(SYSTEM, QUESTION, BAD, FIX, good, thanks)) == (2, 1)
    _degrade(ledger)
    assert _ask(ledger, _chat(SYSTEM, QUESTION)) == (3, 1)  # call 1 ended with a good answer


def test_anthropic_reasks_keep_the_system_prompt_aside() -> None:
    def messages(system: str, *turns: dict[str, Any]) -> bytes:
        body = {"model": "claude-haiku-4-5", "system": system, "messages": list(turns)}
        return json.dumps(body).encode()

    question = {"role": "user", "content": [{"type": "text", "text": "Where is order 1042?"}]}
    cached = {
        "role": "user",
        "content": [
            {"type": "text", "text": "Where is order 1042?", "cache_control": {"type": "ephemeral"}}
        ],
    }
    bad = {"role": "assistant", "content": [{"type": "text", "text": "{}"}]}
    ledger = Ledger()
    fmt, model = "anthropic_messages", "claude-haiku-4-5"
    assert _ask(ledger, messages("Be brief.", cached), fmt, model) == (1, 1)
    _degrade(ledger)
    assert _ask(ledger, messages("Be brief. JSON only.", question, bad, FIX), fmt, model) == (1, 2)


def test_responses_reasks_extend_a_string_input() -> None:
    def responses(instructions: str, input_: Any) -> bytes:
        body = {"model": "gpt-4o-mini", "instructions": instructions, "input": input_}
        return json.dumps(body).encode()

    ledger = Ledger()
    fmt = "openai_responses"
    assert _ask(ledger, responses("JSON.", "Where is order 1042?"), fmt) == (1, 1)
    _fail(ledger, 500)
    items = [
        {"type": "message", "role": "user", "content": "Where is order 1042?"},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "?"}]},
        {"role": "user", "content": [{"type": "input_text", "text": "Try again, as JSON."}]},
    ]
    assert _ask(ledger, responses("JSON.", items), fmt) == (1, 2)


def test_a_body_that_is_not_json_is_never_a_reask() -> None:
    ledger = Ledger()
    assert _ask(ledger, b"not json") == (1, 1)
    _degrade(ledger)
    assert _ask(ledger, b"not json either") == (2, 1)


def test_conversations_of_each_wire_format() -> None:
    chat = conversation_of("openai_chat", _chat(SYSTEM, QUESTION))
    assert chat is not None and chat.system == SYSTEM["content"] and len(chat.turns) == 1
    assert conversation_of("openai_chat", b'{"input": "x"}') is None
    assert conversation_of("openai_responses", b'{"input": "hi"}') == Conversation(
        "", (("user", "hi", "{}"),)
    )
    assert conversation_of("anthropic_messages", b"[1]") is None


def test_a_reask_of_a_call_dropped_from_a_bounded_ledger_is_a_new_call() -> None:
    ledger = Ledger(max_entries=1)
    assert _ask(ledger, _chat(SYSTEM, QUESTION)) == (1, 1)
    _degrade(ledger)
    other = {"role": "user", "content": "unrelated"}
    assert _ask(ledger, _chat(other)) == (2, 1)  # drops the first entry
    assert _ask(ledger, _chat(SYSTEM, QUESTION, BAD, FIX)) == (3, 1)


def test_a_stall_that_closed_the_stream_makes_the_next_copy_a_retry() -> None:
    """A stall with ``then: close`` removed the rest of the answer: the exchange may end
    "completed", but the client got a cut answer, so the same request again is a retry."""
    from faultkit.faults.base import Alteration

    ledger = Ledger()
    cut = Alteration(path="event 3", action="removed", original={"events": 5}, value="close")
    for attempt in range(1, 5):
        assert _open(ledger, b"a", "0") == (1, attempt)
        last = ledger.entries[-1]
        last.status = 200
        last.faults.append(
            AppliedFault(
                rule="r",
                type="stall",
                params={"then": "close"},
                alterations=[Alteration(path="event 3", action="delayed", value=60000), cut],
            )
        )
        ledger.finish(last.id, ending="completed", end_ms=1.0)
    assert _open(ledger, b"a", "0") == (1, 5)
    ledger.finish(5, ending="completed", end_ms=2.0)
    # Five attempts of one logical call against a bound of three: a retry storm, not a pass.
    verdict = judge(ledger, Result(output="ok", duration_ms=10.0), Contract(max_attempts=3))
    assert verdict.kind == "retry_storm", verdict
