"""silent_tool_failure: a tool failed, yet the answer carries its facts and no marker."""

from __future__ import annotations

import contextlib

import httpx
from oracle_world import Answer, World, model_answer, rules, sleep_ms

from faultkit.oracle import Contract

TOOL_DOWN = "{match: {route: orders.example}, fault: {type: http_error, status: 503}}"
TOOL_RESET = "{match: {route: orders.example}, fault: {type: reset, at: before_head}}"
PRECISE = Contract(output_model=Answer, tool_fields=["status", "eta"])


def naive(world: World) -> dict:
    with contextlib.suppress(httpx.HTTPError):
        world.order()
    return model_answer(world.chat())


def says_unknown(world: World) -> dict:
    try:
        ok = world.order().status_code == 200
    except httpx.HTTPError:
        ok = False
    answer = Answer.model_validate(model_answer(world.chat()))
    if not ok:
        answer = Answer(
            order_id=answer.order_id,
            status="unknown",
            eta=None,
            summary="I couldn't look up order 1042 right now; please try again later.",
        )
    return answer.model_dump()


def test_fires_when_the_answer_carries_tool_facts_after_an_http_error() -> None:
    world = World(rules(TOOL_DOWN))
    verdict = world.run(naive, PRECISE)
    assert verdict.kind == "silent_tool_failure"
    finding = verdict.headline
    assert finding.entry_ids == [1]
    assert finding.values["facts"] == {"status": "shipped", "eta": "2024-05-03"}
    assert "HTTP 503" in finding.summary


def test_fires_after_a_connection_reset_without_tool_fields() -> None:
    world = World(rules(TOOL_RESET))
    verdict = world.run(naive, Contract(output_model=Answer))
    assert verdict.kind == "silent_tool_failure"
    assert world.engine.ledger.get(1).ending == "reset"


def test_fires_for_an_mcp_is_error_result() -> None:
    world = World(
        rules(
            "{match: {route: tools.example}, fault: {type: partial_tool_data, "
            "op: drop_fields, fields: [carrier], is_error: true}}"
        )
    )

    def mcp_naive(world: World) -> dict:
        world.mcp_order()
        return model_answer(world.chat())

    verdict = world.run(mcp_naive, PRECISE)
    assert verdict.has("silent_tool_failure")
    assert "isError" in verdict.findings_of("silent_tool_failure")[0].summary


def test_silent_when_the_sut_says_it_does_not_know() -> None:
    for contract in (PRECISE, Contract(output_model=Answer)):
        world = World(rules(TOOL_DOWN))
        verdict = world.run(says_unknown, contract)
        assert verdict.kind == "pass", verdict.explain()


def test_silent_when_a_retry_of_the_tool_recovered() -> None:
    world = World(
        rules(
            "{match: {route: orders.example}, when: {nth: 1},"
            " fault: {type: http_error, status: 503}}"
        )
    )

    def retries_tool(world: World) -> dict:
        if world.order().status_code != 200:
            sleep_ms(60)
            world.order()
        return model_answer(world.chat())

    verdict = world.run(retries_tool, PRECISE)
    assert verdict.kind == "retried"
    assert not verdict.has("silent_tool_failure")
