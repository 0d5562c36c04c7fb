"""invalid_output_leaked: an answer that fails the declared model, or carries drifted values."""

from __future__ import annotations

import json

from oracle_world import Answer, OrderLookupError, World, model_answer, rules

from faultkit.oracle import Contract

CONTRACT = Contract(output_model=Answer, error_types=[OrderLookupError])


def drift(op: str, **params: object) -> str:
    extra = "".join(f", {k}: {json.dumps(v)}" for k, v in params.items())
    return f"{{match: {{route: openai}}, fault: {{type: schema_drift, op: {op}{extra}}}}}"


def naive(world: World) -> dict:
    return model_answer(world.chat())


def validating(world: World) -> dict:
    try:
        return Answer.model_validate(model_answer(world.chat())).model_dump()
    except ValueError as exc:
        raise OrderLookupError("the model's answer is not valid") from exc


def test_fires_when_the_answer_fails_the_output_model() -> None:
    world = World(rules(drift("rename", path="status", new_name="state")))
    verdict = world.run(naive, CONTRACT)
    assert verdict.kind == "invalid_output_leaked"
    messages = " ".join(f.summary for f in verdict.findings_of("invalid_output_leaked"))
    assert "status: Field required" in messages
    assert "'state'" in messages  # the renamed member passed through
    assert verdict.headline.entry_ids == [1]


def test_silent_when_the_sut_validates_and_refuses() -> None:
    world = World(rules(drift("rename", path="status", new_name="state")))
    verdict = world.run(validating, CONTRACT)
    assert verdict.kind == "controlled_error"
    assert not verdict.has("invalid_output_leaked")


def test_silent_for_a_valid_answer() -> None:
    assert World().run(naive, CONTRACT).kind == "pass"


def test_fires_for_an_added_value_even_without_an_output_model() -> None:
    world = World(rules(drift("add", path="priority", value="overnight-express")))
    verdict = world.run(naive, Contract())
    assert verdict.kind == "invalid_output_leaked"
    assert "overnight-express" in verdict.headline.summary


def test_added_value_is_silent_when_the_sut_keeps_only_its_fields() -> None:
    world = World(rules(drift("add", path="priority", value="overnight-express")))
    assert world.run(validating, CONTRACT).kind == "pass"


def test_retyped_value_counts_only_in_its_drifted_type() -> None:
    world = World(rules(drift("retype", path="order_id")))
    leaked = world.run(naive, Contract())
    assert leaked.kind == "invalid_output_leaked"
    assert "1042" in leaked.headline.summary

    def coerces(world: World) -> dict:
        answer = model_answer(world.chat())
        return {**answer, "order_id": str(answer["order_id"])}

    world = World(rules(drift("retype", path="order_id")))
    assert world.run(coerces, Contract()).kind == "pass"
