"""pass, controlled_error, crash and hang: how the run ended, judged on real ledgers; and
harness_error when faultkit, not the SUT, could not run as written."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from oracle_world import ORDER_URL, Answer, OrderLookupError, World, model_answer, rules
from tool_world import write_tool_cassette

from faultkit.cassettes import CassetteStore
from faultkit.doors.inprocess import FaultkitTransport
from faultkit.engine import Engine
from faultkit.errors import CassetteError
from faultkit.oracle import Contract, Result, assert_controlled, capture, judge

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
    assert world.engine.ledger.get(1).ending == "client_closed"  # the SUT gave up waiting


def test_hang_when_the_runner_gave_up() -> None:
    verdict = World().judge(Result(duration_ms=10, timed_out=True), CONTRACT)
    assert verdict.kind == "hang"
    assert "gave up" in verdict.headline.summary


def test_assert_controlled_passes_a_controlled_verdict_through() -> None:
    verdict = World(rules(TOOL_500)).run(robust, CONTRACT)
    assert assert_controlled(verdict) is verdict


# -- harness_error ---------------------------------------------------------------------------------


@pytest.fixture
def tool_client(tmp_path: Path) -> tuple[Engine, httpx.Client]:
    """A client replaying the recorded tool (item 7 only) through faultkit's door."""
    store = CassetteStore([write_tool_cassette(tmp_path)])
    engine = Engine(source=store)
    return engine, httpx.Client(transport=FaultkitTransport(engine))


def test_a_request_with_no_recording_is_a_harness_error_not_the_apps_crash(tool_client) -> None:
    engine, client = tool_client

    def app() -> dict:
        return client.get("http://tools.internal/items/8").json()  # recorded: item 7 only

    verdict = judge(engine.ledger, capture(app), CONTRACT)
    assert verdict.kind == "harness_error"
    assert not verdict.has("crash") and not verdict.ok
    (finding,) = verdict.findings
    (request,) = finding.values["unmatched"]
    assert request["url"] == "http://tools.internal/items/8"
    assert request["closest"][0].endswith("GET http://tools.internal/items/7")
    assert finding.entry_ids == [1]
    assert "1 request(s) had no recording (#1 GET http://tools.internal/items/8)" in finding.summary
    assert "closest recording:" in finding.summary
    assert finding.values["error_type"] == "faultkit.errors.UnmatchedRequest"


def test_an_unmatched_request_the_app_swallowed_is_still_a_harness_error(tool_client) -> None:
    engine, client = tool_client

    def app() -> dict:
        try:
            client.get("http://tools.internal/items/8")
        except Exception:
            return {"item": "unknown"}
        return {}

    verdict = judge(engine.ledger, capture(app), CONTRACT)
    assert verdict.kind == "harness_error"
    assert verdict.headline.values["sut_outcome"] == "returned an answer"


def test_a_harness_miss_the_app_wrapped_in_its_own_error_is_not_its_crash(tool_client) -> None:
    engine, client = tool_client

    def app() -> dict:
        try:
            return client.get("http://tools.internal/items/8").json()
        except Exception as exc:  # an SDK turns a transport error into its own
            raise ConnectionError("upstream unreachable") from exc

    verdict = judge(engine.ledger, capture(app), CONTRACT)
    assert verdict.kind == "harness_error"
    assert [f.kind for f in verdict.findings] == ["harness_error"]


def test_faultkits_own_error_raised_through_the_sut_is_a_harness_error() -> None:
    def app() -> None:
        raise CassetteError("tools.yaml: not a cassette")

    verdict = judge([], capture(app), CONTRACT)
    assert verdict.kind == "harness_error"
    assert "CassetteError" in verdict.headline.summary
    assert "the harness, not the SUT" in verdict.headline.summary
