"""not_exercised: rules were in force, but no fault reached the SUT — never judged ``pass``."""

from __future__ import annotations

from oracle_world import CHAT_URL, Answer, OrderLookupError, World, model_answer, rules

from faultkit.oracle import Contract, Result, Verdict, capture, judge
from faultkit.oracle.checks.exercised import engine_rules
from faultkit.scenario import Rule

CONTRACT = Contract(output_model=Answer, error_types=[OrderLookupError], deadline_ms=1500)
# Written for a host the app never calls: the app's model sits behind a gateway.
ORDERS_DOWN = (
    "{name: orders-down, match: {route: 'orders.internal*'}, "
    "fault: {type: http_error, status: 503}}"
)
STREAM_CUT = "{match: {route: openai}, fault: {type: broken_sse, kind: missing_terminator}}"


def answer_from_the_model(world: World) -> Answer:
    return Answer.model_validate(model_answer(world.chat()))


def cached_answer(world: World) -> Answer:
    """An app whose response cache answers: no request reaches faultkit."""
    return Answer(order_id="1042", status="shipped", eta="2024-05-03", summary="cached")


def _run(world: World, sut) -> Verdict:
    """Run ``sut`` in ``world`` and judge it with the engine's rules in force."""
    engine = world.engine
    result = capture(sut, world)
    return judge(engine.ledger, result, CONTRACT, engine.scenario, rules=engine_rules(engine))


def test_rules_that_match_no_request_are_not_exercised_naming_rule_and_routes_seen() -> None:
    world = World(rules(ORDERS_DOWN))
    verdict = _run(world, answer_from_the_model)
    assert verdict.kind == "not_exercised"
    assert not verdict.ok and not verdict.controlled  # never a pass
    (finding,) = verdict.findings
    assert finding.values["rules"][0]["name"] == "orders-down"
    assert finding.values["rules"][0]["match"] == {"route": "orders.internal*"}
    assert finding.values["routes_seen"] == [
        {"route": "openai", "format": "openai_chat", "requests": 1}
    ]
    assert "orders-down: http_error on route=orders.internal*" in finding.summary
    assert "openai (openai_chat) x1" in finding.summary


def test_a_run_where_no_request_reached_faultkit_is_not_exercised() -> None:
    world = World(rules(ORDERS_DOWN))
    verdict = _run(world, cached_answer)
    assert verdict.kind == "not_exercised"
    assert verdict.headline.values["routes_seen"] == []
    assert "no request reached faultkit" in verdict.headline.summary


def test_a_run_where_every_firing_was_skipped_is_not_exercised_with_the_skips() -> None:
    world = World(rules(STREAM_CUT))  # a stream fault, but the answer is plain JSON
    verdict = _run(world, answer_from_the_model)
    assert verdict.kind == "not_exercised"
    (skip,) = verdict.headline.values["skipped"]
    assert skip["rule"] == "rule-1" and skip["fault"] == "broken_sse"
    assert verdict.headline.entry_ids == [skip["entry"]]
    assert "every firing was skipped" in verdict.headline.summary
    assert skip["reason"] in verdict.headline.summary


def test_a_fault_that_applied_leaves_the_outcome_to_judge() -> None:
    world = World(rules("{match: {route: openai}, fault: {type: latency, latency_ms: 5}}"))
    verdict = _run(world, answer_from_the_model)
    assert verdict.kind == "pass" and not verdict.has("not_exercised")


def test_no_rules_in_force_is_not_judged_as_unexercised() -> None:
    world = World()
    assert _run(world, answer_from_the_model).kind == "pass"


def test_without_rules_the_caller_did_not_ask_and_the_outcome_decides() -> None:
    world = World(rules(ORDERS_DOWN))
    result = Result.returned(answer_from_the_model(world), 5.0)
    assert judge(world.engine.ledger, result, CONTRACT, world.engine.scenario).kind == "pass"


def test_an_uncontrolled_outcome_still_heads_the_verdict() -> None:
    def crashes(world: World) -> None:
        world.chat()
        raise RuntimeError("boom")

    world = World(rules(ORDERS_DOWN))
    verdict = _run(world, crashes)
    assert verdict.kind == "crash"
    assert verdict.has("not_exercised")


def test_inline_rules_count_with_the_labels_the_ledger_gives_them() -> None:
    world = World(rules(ORDERS_DOWN))
    tool = {"match": {"route": "orders.internal*"}, "fault": {"type": "reset"}}
    world.engine.add_rule(Rule.model_validate(tool))
    slow = {
        "name": "slow",
        "match": {"path": "/v1/chat/*"},
        "fault": {"type": "latency", "latency_ms": 1},
    }
    world.engine.add_rule(Rule.model_validate(slow))
    assert list(engine_rules(world.engine)) == ["orders-down", "inline-2", "slow"]
    verdict = _run(world, answer_from_the_model)
    assert verdict.kind == "pass"  # the inline rule fired on the model call
    assert [f.rule for f in world.engine.ledger.entries[0].faults] == ["slow"]
    assert world.engine.ledger.entries[0].url == CHAT_URL
