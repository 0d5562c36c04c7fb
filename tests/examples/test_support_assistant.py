"""The example support assistant, robust and naive, behaving as their docstrings promise.

Each test runs the real app (official openai SDK, httpx) through the in-process door over the
bundled cassettes, with a few inline fault rules, and checks what the app returned and what
the ledger saw.
"""

from __future__ import annotations

import inspect
import time

import httpx
import pytest
from support_world import QUESTION, async_factory, sync_factory, world

from examples.support_assistant import naive, robust
from examples.support_assistant.models import Order, SupportAnswer, SupportError
from faultkit.oracle import Contract, collect_traces, judge
from faultkit.oracle.result import Result

PRIMARY_REPLY = (
    "Your order 1234 (1 mechanical keyboard and 2 wireless mice, 138.00 EUR) has shipped with "
    "DHL and should arrive by 14 March 2026."
)
FALLBACK_REPLY = (
    "Order 1234 has shipped with DHL and is expected on 14 March 2026. It holds 1 mechanical "
    "keyboard and 2 wireless mice (138.00 EUR)."
)
ORDER_JSON = (
    '{"id":"1234","status":"shipped","items":[{"sku":"KB-101","name":"Mechanical keyboard",'
    '"quantity":1,"unit_price":89.0},{"sku":"MS-220","name":"Wireless mouse","quantity":2,'
    '"unit_price":24.5}],"total":138.0,"currency":"EUR","carrier":"DHL",'
    '"tracking_number":"JD0146000062819","eta":"2026-03-14"}'
)
CONTRACT = Contract(
    output_model=SupportAnswer,
    strict_output=True,
    error_types=[SupportError],
    fallback_models=["gpt-4.1-mini"],
    trace_required=True,
    tool_fields=["status", "eta"],
)


async def test_robust_answers_from_the_recording_with_a_complete_trace() -> None:
    engine = world()
    answer, trace = await robust.answer(QUESTION, http_client_factory=async_factory(engine))

    assert answer == SupportAnswer(
        order_id="1234", status="shipped", eta="2026-03-14", reply=PRIMARY_REPLY
    )
    assert trace.model_version == "gpt-4o-mini"
    assert trace.context_ids == ["order:1234"]
    assert [t.ok for t in trace.tool_outputs] == [True]
    assert trace.tool_outputs[0].output["eta"] == "2026-03-14"
    assert trace.validation_result.valid
    assert trace.decision_path == ["ask:gpt-4o-mini", "tool:get_order", "ask:gpt-4o-mini", "answer"]
    entries = engine.ledger.entries
    assert [(e.route, e.ending) for e in entries] == [
        ("openai", "completed"),
        ("orders.internal", "completed"),
        ("openai", "completed"),
    ]
    result = Result.returned((answer, trace), 10.0)
    assert judge(entries, result, CONTRACT).kind == "pass"


def test_naive_gives_the_same_answer_on_a_good_day_but_no_trace() -> None:
    engine = world()
    answer = naive.answer(QUESTION, http_client_factory=sync_factory(engine))

    assert answer == {
        "order_id": "1234",
        "status": "shipped",
        "eta": "2026-03-14",
        "reply": PRIMARY_REPLY,
    }
    verdict = judge(engine.ledger, Result.returned(answer, 10.0), CONTRACT)
    assert verdict.kind == "untraceable"
    untraced = CONTRACT.model_copy(update={"trace_required": False})
    assert judge(engine.ledger, Result.returned(answer, 10.0), untraced).kind == "pass"


async def test_robust_labels_a_delivery_date_the_tool_did_not_return_as_unknown() -> None:
    engine = world(
        "  - match: {route: 'orders*'}\n"
        "    fault: {type: partial_tool_data, op: drop_fields, fields: [eta]}\n"
    )
    answer, trace = await robust.answer(QUESTION, http_client_factory=async_factory(engine))

    assert answer.eta is None
    assert answer.status == "shipped"
    assert "unknown" in answer.reply
    assert "2026" not in answer.reply and "March" not in answer.reply
    assert "relabel_unknown" in trace.decision_path
    assert "eta" not in trace.tool_outputs[0].output


async def test_robust_stops_with_an_explicit_error_when_the_tool_fails() -> None:
    engine = world("  - match: {route: 'orders*'}\n    fault: {type: http_error, status: 503}\n")
    with collect_traces() as traces, pytest.raises(SupportError) as raised:
        await robust.answer(QUESTION, http_client_factory=async_factory(engine))

    assert raised.value.code == "tool_unavailable"
    routes = [e.route for e in engine.ledger.entries]
    assert routes == ["openai", "orders.internal", "orders.internal"]  # no answer without data
    (trace,) = traces
    assert [t["ok"] for t in trace["tool_outputs"]] == [False]
    assert trace["decision_path"][-1] == "error:tool_unavailable"


async def test_robust_does_not_retry_an_order_that_does_not_exist() -> None:
    engine = world("  - match: {route: 'orders*'}\n    fault: {type: http_error, status: 404}\n")
    with pytest.raises(SupportError) as raised:
        await robust.answer(QUESTION, http_client_factory=async_factory(engine))

    assert raised.value.code == "order_not_found"
    assert [e.route for e in engine.ledger.entries].count("orders.internal") == 1


async def test_robust_waits_as_long_as_retry_after_asks_and_numbers_its_attempts() -> None:
    engine = world(
        "  - match: {route: openai}\n    when: {nth: 1}\n"
        "    fault: {type: http_error, status: 429, retry_after_ms: 300}\n"
    )
    answer, _ = await robust.answer(QUESTION, http_client_factory=async_factory(engine))

    assert answer.reply == PRIMARY_REPLY
    first, second = engine.ledger.entries[:2]
    assert (first.status, second.status) == (429, 200)
    assert (second.logical_call, second.attempt) == (first.logical_call, 2)
    assert second.arrival_ms - first.end_ms >= 300


async def test_robust_falls_back_to_the_second_model_when_the_first_keeps_failing() -> None:
    engine = world(
        "  - match: {route: openai, model: gpt-4o-mini}\n"
        "    fault: {type: http_error, status: 503}\n"
    )
    answer, trace = await robust.answer(QUESTION, http_client_factory=async_factory(engine))

    assert answer.reply == FALLBACK_REPLY
    assert trace.model_version == "gpt-4.1-mini"
    assert "fallback:gpt-4.1-mini" in trace.decision_path
    models = [e.model for e in engine.ledger.entries if e.route == "openai"]
    assert models == ["gpt-4o-mini", "gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1-mini"]


async def test_robust_gives_up_at_its_own_deadline() -> None:
    engine = world("  - match: {route: openai}\n    fault: {type: latency, latency_ms: 3000}\n")
    settings = robust.Settings(deadline_s=0.5)
    start = time.monotonic()
    with pytest.raises(SupportError) as raised:
        await robust.answer(QUESTION, http_client_factory=async_factory(engine), settings=settings)

    assert raised.value.code == "timeout"
    assert time.monotonic() - start < 1.5


async def test_robust_rejects_a_tool_call_with_broken_arguments_and_asks_again() -> None:
    engine = world(
        "  - match: {route: openai}\n    when: {nth: 1}\n"
        "    fault: {type: tool_call, kind: invalid_arguments, call: 0}\n"
    )
    answer, trace = await robust.answer(QUESTION, http_client_factory=async_factory(engine))

    assert answer.reply == PRIMARY_REPLY
    assert "retry:gpt-4o-mini:invalid_tool_call" in trace.decision_path
    orders = [e for e in engine.ledger.entries if e.route == "orders.internal"]
    assert [e.url for e in orders] == ["http://orders.internal/orders/1234"]


def test_naive_crashes_on_a_tool_call_with_broken_arguments() -> None:
    engine = world(
        "  - match: {route: openai}\n    when: {nth: 1}\n"
        "    fault: {type: tool_call, kind: invalid_arguments, call: 0}\n"
    )
    with pytest.raises(ValueError):
        naive.answer(QUESTION, http_client_factory=sync_factory(engine))
    assert [e.route for e in engine.ledger.entries] == ["openai"]


def test_the_seam_defaults_to_real_clients() -> None:
    robust_default = inspect.signature(robust.answer).parameters["http_client_factory"].default
    naive_default = inspect.signature(naive.answer).parameters["http_client_factory"].default
    assert robust_default is httpx.AsyncClient
    assert naive_default is None  # the SDK's own client, and httpx.Client() for the tool


async def test_robust_waits_the_retry_after_the_order_service_asks_for() -> None:
    engine = world(
        "  - match: {route: 'orders*'}\n    when: {nth: 1}\n"
        "    fault: {type: http_error, status: 500, retry_after_ms: 600}\n"
    )
    answer, trace = await robust.answer(QUESTION, http_client_factory=async_factory(engine))

    assert answer.reply == PRIMARY_REPLY
    assert "retry:get_order" in trace.decision_path
    first, second = [e for e in engine.ledger.entries if e.route == "orders.internal"]
    assert (first.status, second.status) == (500, 200)
    assert second.arrival_ms - first.end_ms >= 600


async def test_robust_stops_at_once_when_the_tool_asks_for_a_wait_past_its_deadline() -> None:
    engine = world(
        "  - match: {route: 'orders*'}\n"
        "    fault: {type: http_error, status: 503, retry_after_s: 30}\n"
    )
    start = time.monotonic()
    with pytest.raises(SupportError) as raised:
        await robust.answer(QUESTION, http_client_factory=async_factory(engine))

    assert raised.value.code == "tool_unavailable"
    assert "deadline" in raised.value.message
    assert time.monotonic() - start < 3  # neither waited out nor retried early
    assert [e.route for e in engine.ledger.entries].count("orders.internal") == 1


async def test_robust_does_not_retry_a_tool_that_says_not_to() -> None:
    engine = world(
        "  - match: {route: 'orders*'}\n"
        "    fault: {type: http_error, status: 503, should_retry: false}\n"
    )
    with pytest.raises(SupportError) as raised:
        await robust.answer(QUESTION, http_client_factory=async_factory(engine))

    assert raised.value.code == "tool_unavailable"
    assert [e.route for e in engine.ledger.entries].count("orders.internal") == 1


@pytest.mark.parametrize(
    ("fault", "unsaid"),
    [
        ("{type: partial_tool_data, op: drop_fields, fields: [total]}", ["138", "EUR"]),
        ("{type: partial_tool_data, op: drop_fields, fields: [currency]}", ["138", "EUR"]),
        ("{type: partial_tool_data, op: drop_fields, fields: [carrier]}", ["DHL"]),
        ("{type: partial_tool_data, op: cut_lists, fields: [items], keep: 1}", ["mouse", "mice"]),
        ("{type: partial_tool_data, op: null_values, fields: ['items[1].name']}", ["mice"]),
    ],
    ids=["total", "currency", "carrier", "items-cut", "item-name"],
)
async def test_robust_never_states_a_fact_the_tool_did_not_deliver(
    fault: str, unsaid: list[str]
) -> None:
    engine = world(f"  - match: {{route: 'orders*'}}\n    fault: {fault}\n")
    answer, trace = await robust.answer(QUESTION, http_client_factory=async_factory(engine))

    assert "relabel_unknown" in trace.decision_path
    assert (answer.status, answer.eta) == ("shipped", "2026-03-14")  # still delivered
    for word in unsaid:
        assert word.casefold() not in answer.reply.casefold()
    assert "unknown" in answer.reply or "DHL" in unsaid
    verdict = judge(engine.ledger, Result.returned((answer, trace), 10.0), CONTRACT)
    assert verdict.kind == "pass", verdict.explain()


async def test_robust_rebuilds_its_reply_from_the_facts_it_could_check() -> None:
    engine = world(
        "  - match: {route: 'orders*'}\n"
        "    fault: {type: partial_tool_data, op: null_values, fields: ['items[0].unit_price']}\n"
    )
    answer, _ = await robust.answer(QUESTION, http_client_factory=async_factory(engine))

    assert answer.reply == (
        "Your order 1234 is shipped with DHL. Its total is 138.00 EUR. It should arrive by "
        "2026-03-14. The items are unknown right now."
    )


def test_robust_does_not_pass_on_a_number_the_tool_never_sent() -> None:
    order = Order.model_validate_json(ORDER_JSON)
    honest = SupportAnswer(order_id="1234", status="shipped", eta="2026-03-14", reply=PRIMARY_REPLY)
    invented = honest.model_copy(update={"reply": PRIMARY_REPLY.replace("138.00", "183.00")})
    log = robust._Log()

    assert robust._check_evidence(honest, order, "1234", log) == honest
    checked = robust._check_evidence(invented, order, "1234", log)
    assert "183" not in checked.reply
    assert "138.00 EUR" in checked.reply
    assert log.path == ["relabel_unknown"]
