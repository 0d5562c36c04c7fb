"""ungrounded_answer: the true value a lying tool replaced shows up in the answer, because the
SUT took the model's (recorded) word over its tool's answer in this run."""

from __future__ import annotations

from oracle_world import Answer, World, model_answer, rules

from faultkit.oracle import Contract

CONTRACT = Contract(output_model=Answer)


def lying(op: str, fields: str, extra: str = "") -> str:
    fault = f"{{type: lying_tool, op: {op}, fields: {fields}{extra}}}"
    return f"{{match: {{route: orders.example}}, fault: {fault}}}"


def trusts_the_model(world: World) -> dict:
    world.order()  # fetched, never compared
    return model_answer(world.chat())


def grounded(world: World) -> dict:
    """Takes the facts from the tool's answer of this run, whatever the model said."""
    order = world.order().json()
    answer = Answer.model_validate(model_answer(world.chat()))
    answer.status, answer.eta = order["status"], order["eta"]
    answer.summary = f"Order {order['id']} has {order['status']}; it arrives on {order['eta']}."
    return answer.model_dump()


def test_fires_when_the_true_date_is_passed_on() -> None:
    world = World(rules(lying("move_date", "[eta]", ", by: 5")))
    verdict = world.run(trusts_the_model, CONTRACT)
    assert verdict.kind == "ungrounded_answer"
    found = {(h["found_at"], h["value"]) for h in verdict.headline.values["ungrounded"]}
    assert ("eta", "2024-05-03") in found and ("summary", "2024-05-03") in found
    assert verdict.headline.entry_ids == [1]


def test_silent_when_the_answer_follows_the_tool() -> None:
    world = World(rules(lying("move_date", "[eta]", ", by: 5")))
    verdict = world.run(grounded, CONTRACT)
    assert verdict.kind == "pass", verdict.explain()


def test_a_swap_is_ungrounded_only_under_the_swapped_field() -> None:
    # status and carrier trade places: "shipped" is still in the tool's answer (as carrier).
    world = World(rules(lying("swap_values", "[status, carrier]")))
    assert world.run(trusts_the_model, CONTRACT).kind == "ungrounded_answer"
    world = World(rules(lying("swap_values", "[status, carrier]")))
    assert world.run(grounded, CONTRACT).kind == "pass"


def test_a_lie_about_a_field_the_answer_never_states_is_not_flagged() -> None:
    world = World(rules(lying("shift_number", "[total]")))
    assert world.run(trusts_the_model, CONTRACT).kind == "pass"
