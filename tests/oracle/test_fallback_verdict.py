"""fallback: a declared fallback route or model used after a failure."""

from __future__ import annotations

from oracle_world import Answer, OrderLookupError, World, model_answer, rules, sleep_ms

from faultkit.oracle import Contract

PRIMARY_DOWN = "{match: {route: openai, model: gpt-4o}, fault: {type: http_error, status: 503}}"
CONTRACT = Contract(
    output_model=Answer,
    error_types=[OrderLookupError],
    max_attempts=3,
    fallback_models=["gpt-4o-mini*"],
)


def with_fallback(world: World) -> Answer:
    for model in ("gpt-4o", "gpt-4o-mini"):
        for _ in range(2):
            response = world.chat(model=model)
            if response.status_code == 200:
                return Answer.model_validate(model_answer(response))
            sleep_ms(60)
    raise OrderLookupError("no model answered")


def test_fallback_fires_when_a_declared_fallback_model_answers() -> None:
    world = World(rules(PRIMARY_DOWN))
    verdict = world.run(with_fallback, CONTRACT)
    assert verdict.kind == "fallback"
    assert verdict.ok
    finding = verdict.headline
    assert finding.entry_ids == [1, 3]
    assert finding.values["failed_model"] == "gpt-4o"
    assert finding.values["fallback_model"] == "gpt-4o-mini"
    assert finding.values["fallback_ok"] is True
    assert verdict.has("retried")  # the primary was retried once first


def test_fallback_is_silent_without_a_failure() -> None:
    verdict = World().run(with_fallback, CONTRACT)
    assert verdict.kind == "pass"


def test_fallback_is_silent_when_the_model_is_not_declared() -> None:
    world = World(rules(PRIMARY_DOWN))
    verdict = world.run(with_fallback, CONTRACT.model_copy(update={"fallback_models": []}))
    assert not verdict.has("fallback")
    assert verdict.kind == "retried"


def test_fallback_route_declared_by_the_scenario() -> None:
    def backup_tool(world: World) -> dict:
        if world.order().status_code != 200:
            world.order(url="https://orders-backup.example/orders/1042")
        return model_answer(world.chat())

    world = World(rules("{match: {route: orders.example}, fault: {type: http_error, status: 502}}"))
    verdict = world.run(
        backup_tool, Contract(output_model=Answer), fallback_routes=["orders-backup.*"]
    )
    assert verdict.kind == "fallback"
    assert verdict.headline.values["fallback_route"] == "orders-backup.example"
    assert not verdict.has("silent_tool_failure")  # the backup answered


def test_fallback_after_drifted_output_counts() -> None:
    world = World(
        rules(
            "{match: {route: openai, model: gpt-4o}, "
            "fault: {type: schema_drift, op: rename, path: status, new_name: state}}"
        )
    )

    def validating(world: World) -> Answer:
        for model in ("gpt-4o", "gpt-4o-mini"):
            try:
                return Answer.model_validate(model_answer(world.chat(model=model)))
            except ValueError:
                continue
        raise OrderLookupError("no valid answer")

    verdict = world.run(validating, CONTRACT)
    assert verdict.kind == "fallback"
    assert "schema_drift" in verdict.headline.summary
