"""pass, controlled_error, crash and hang: how the run ended, judged on real ledgers."""

from __future__ import annotations

import httpx
from oracle_world import ORDER_URL, Answer, OrderLookupError, World, model_answer, rules

from faultkit.oracle import Contract, Result, assert_controlled

CONTRACT = Contract(output_model=Answer, error_types=[OrderLookupError], deadline_ms=1500)
TOOL_500 = "{match: {route: orders.example}, fault: {type: http_error, status: 500}}"
TOOL_SLOW = "{match: {route: orders.example}, fault: {type: latency, latency_ms: 300}}"


def robust(world: World) -> Answer:
    try:
        response = world.order(timeout_s=0.05)
    except httpx.TimeoutException as exc:
        raise OrderLookupError("order service timed out") from exc
    if response.status_code != 200:
        raise OrderLookupError(f"order service answered {response.status_code}")
    return Answer.model_validate(model_answer(world.chat()))


def naive(world: World) -> dict:
    order = world.order().json()
    answer = model_answer(world.chat())
    answer["status"] = order["status"]  # KeyError when the tool sent an error body
    return answer


def test_pass_when_nothing_goes_wrong() -> None:
    world = World()
    verdict = world.run(robust, CONTRACT)
    assert verdict.kind == "pass"
    assert verdict.ok and verdict.controlled
    assert [f.kind for f in verdict.findings] == ["pass"]
    assert "2 exchanges" in verdict.headline.summary


def test_pass_lists_the_faults_it_survived() -> None:
    world = World(rules("{match: {route: openai}, fault: {type: latency, latency_ms: 20}}"))
    verdict = world.run(robust, CONTRACT)
    assert verdict.kind == "pass"
    assert verdict.headline.values["faults"] == ["latency"]
    assert verdict.headline.entry_ids == [2]


def test_controlled_error_fires_for_a_declared_error_within_the_deadline() -> None:
    world = World(rules(TOOL_500))
    verdict = world.run(robust, CONTRACT)
    assert verdict.kind == "controlled_error"
    assert verdict.ok
    assert verdict.headline.entry_ids == [1]  # the failed tool call is the evidence
    assert verdict.headline.values["error_type"].endswith("OrderLookupError")
    assert not verdict.has("crash")


def test_controlled_error_is_silent_when_the_sut_answers() -> None:
    verdict = World().run(robust, CONTRACT)
    assert not verdict.has("controlled_error")


def test_declared_error_matches_by_base_class_name() -> None:
    class Specific(OrderLookupError):
        pass

    def raises(world: World) -> None:
        world.order()
        raise Specific("no")

    world = World(rules(TOOL_500))
    verdict = world.run(raises, Contract(error_types=["OrderLookupError"]))
    assert verdict.kind == "controlled_error"


def test_crash_fires_for_an_undeclared_exception() -> None:
    world = World(rules(TOOL_500))
    verdict = world.run(naive, CONTRACT)
    assert verdict.kind == "crash"
    assert not verdict.controlled and not verdict.ok
    finding = verdict.headline
    assert finding.values["error_type"] == "builtins.KeyError"
    assert finding.entry_ids == [1]
    assert "#1 on orders.example failed (HTTP 500)" in finding.summary


def test_crash_is_silent_for_a_declared_error() -> None:
    verdict = World(rules(TOOL_500)).run(robust, CONTRACT)
    assert not verdict.has("crash")


def test_http_target_5xx_is_a_crash_and_declared_shape_is_controlled() -> None:
    world = World(rules(TOOL_500))
    response = world.client.get(ORDER_URL)
    crashed = world.judge(Result(value={"detail": "boom"}, status=500, duration_ms=5))
    assert crashed.kind == "crash"
    shaped = world.judge(
        Result(value=response.json(), status=503, duration_ms=5),
        Contract(error_model=dict[str, dict]),
    )
    assert shaped.kind == "controlled_error"


def test_hang_fires_when_the_deadline_passes() -> None:
    world = World(rules(TOOL_SLOW))
    verdict = world.run(naive, CONTRACT, deadline_ms=150)
    assert verdict.kind == "hang"
    assert verdict.headline.timings_ms["duration_ms"] > 150
    assert verdict.headline.timings_ms["deadline_ms"] == 150
    assert verdict.headline.entry_ids == [1]  # the delayed exchange


def test_hang_is_silent_when_the_sut_times_out_itself() -> None:
    world = World(rules(TOOL_SLOW))
    verdict = world.run(robust, CONTRACT, deadline_ms=150)
    assert verdict.kind == "controlled_error"
    assert not verdict.has("hang")
    assert world.engine.ledger.get(1).ending == "timeout"


def test_hang_when_the_runner_gave_up() -> None:
    verdict = World().judge(Result(duration_ms=10, timed_out=True), CONTRACT)
    assert verdict.kind == "hang"
    assert "gave up" in verdict.headline.summary


def test_assert_controlled_passes_a_controlled_verdict_through() -> None:
    verdict = World(rules(TOOL_500)).run(robust, CONTRACT)
    assert assert_controlled(verdict) is verdict
