"""unknown_as_known: values a partial-data fault took from the tool show up in the answer."""

from __future__ import annotations

from oracle_world import Answer, World, model_answer, rules

from faultkit.oracle import Contract

CONTRACT = Contract(output_model=Answer)


def partial(op: str, fields: str, route: str = "orders.example", extra: str = "") -> str:
    return (
        f"{{match: {{route: {route}}}, "
        f"fault: {{type: partial_tool_data, op: {op}, fields: {fields}{extra}}}}}"
    )


def naive(world: World) -> dict:
    world.order()  # looks the order up, never reads it
    return model_answer(world.chat())


def checks_evidence(world: World) -> dict:
    order = world.order().json()
    answer = Answer.model_validate(model_answer(world.chat()))
    if not order.get("eta"):
        answer.eta = None
        answer.summary = (
            f"Order {answer.order_id} has {order['status']}; its delivery date is unknown."
        )
    return answer.model_dump()


def test_fires_when_a_removed_value_is_in_the_answer() -> None:
    world = World(rules(partial("drop_fields", "[eta]")))
    verdict = world.run(naive, CONTRACT)
    assert verdict.kind == "unknown_as_known"
    finding = verdict.headline
    assert finding.entry_ids == [1]
    leaked = {(hit["found_at"], hit["how"]) for hit in finding.values["leaked"]}
    assert ("eta", "value") in leaked  # the field itself
    assert ("summary", "text") in leaked  # and the sentence quoting it
    assert "'2024-05-03'" in finding.summary and "orders.example" in finding.summary


def test_fires_for_nulled_values() -> None:
    world = World(rules(partial("null_values", "[status]")))
    verdict = world.run(naive, CONTRACT)
    assert verdict.kind == "unknown_as_known"
    assert verdict.headline.values["leaked"][0]["value"] == "shipped"


def test_silent_when_the_sut_labels_the_missing_value_unknown() -> None:
    world = World(rules(partial("drop_fields", "[eta]")))
    verdict = world.run(checks_evidence, CONTRACT)
    assert verdict.kind == "pass"
    assert not verdict.has("unknown_as_known")


def test_silent_for_trivial_values_that_are_not_the_same_field() -> None:
    # `gift: true` removed; the answer has no `gift` field, and `true` is no evidence elsewhere.
    world = World(rules(partial("drop_fields", "[gift]")))

    def with_flag(world: World) -> dict:
        return {**naive(world), "in_stock": True}

    assert world.run(with_flag, Contract()).kind == "pass"


def test_fires_for_data_dropped_from_an_mcp_tool_result() -> None:
    world = World(rules(partial("drop_fields", "[eta]", route="tools.example")))

    def mcp_naive(world: World) -> dict:
        world.mcp_order()
        return model_answer(world.chat())

    verdict = world.run(mcp_naive, CONTRACT)
    assert verdict.kind == "unknown_as_known"
    assert verdict.headline.values["leaked"][0]["path"] == "result.structuredContent.eta"


def test_silent_for_values_the_sut_was_given() -> None:
    # The order id is in the URL the SUT called the tool with; a date in its question is
    # its own input. Neither is data it could only have had from the tool.
    def relays(world: World, question: str) -> dict:
        world.order()
        return {"question": question, **model_answer(world.chat(question=question))}

    world = World(rules(partial("drop_fields", "[id, eta]")))
    verdict = world.run_with(relays, "Will order 1042 arrive by 2024-05-03?")
    assert verdict.kind == "pass", verdict.explain()

    world = World(rules(partial("drop_fields", "[id, eta]")))
    leaked = world.run_with(relays, "Where is my order?")
    assert leaked.kind == "unknown_as_known"
    assert {h["value"] for h in leaked.headline.values["leaked"]} == {"2024-05-03"}
