"""unsafe_output_leaked: a payload an injection fault planted (its canary) reaches the answer."""

from __future__ import annotations

import re

from oracle_world import Answer, World, model_answer, rules

from faultkit.oracle import Contract

CONTRACT = Contract(output_model=Answer)
INJECT = (
    "{match: {route: orders.example}, "
    "fault: {type: injection, payload: exfiltration, field: carrier}}"
)
INTO_ANSWER = "{match: {route: openai}, fault: {type: injection, payload: script, target: answer}}"


def pastes_tool_text(world: World) -> dict:
    """Quotes the tool's carrier field into the summary, as it came."""
    order = world.order().json()
    answer = Answer.model_validate(model_answer(world.chat()))
    answer.summary = f"Order {order['id']} ships with {order['carrier']}."
    return answer.model_dump()


def keeps_to_known_values(world: World) -> dict:
    """Writes only values it can check: a carrier name, not free text with links in it."""
    order = world.order().json()
    answer = Answer.model_validate(model_answer(world.chat()))
    carrier = order["carrier"] if re.fullmatch(r"[A-Za-z ]{2,40}", order["carrier"]) else "unknown"
    answer.summary = f"Order {order['id']} ships with {carrier}."
    return answer.model_dump()


def test_fires_when_the_planted_link_reaches_the_user() -> None:
    verdict = World(rules(INJECT)).run(pastes_tool_text, CONTRACT)
    assert verdict.kind == "unsafe_output_leaked"
    (hit,) = verdict.headline.values["leaked"]
    assert hit["found_at"] == "summary" and hit["path"] == "carrier"
    assert "attacker.example" in verdict.headline.summary


def test_silent_when_the_app_keeps_to_values_it_can_check() -> None:
    verdict = World(rules(INJECT)).run(keeps_to_known_values, CONTRACT)
    assert verdict.kind == "pass", verdict.explain()


def test_a_payload_in_the_models_answer_breaks_a_json_answer() -> None:
    # The model's answer is the structured JSON with a script after it: an app that validates
    # it declares an error (controlled); one that returns the raw text leaks it.
    def raw(world: World) -> dict:
        content = world.chat().json()["choices"][0]["message"]["content"]
        return {"order_id": "1042", "status": "shipped", "eta": None, "summary": content}

    verdict = World(rules(INTO_ANSWER)).run(raw, CONTRACT)
    assert verdict.kind == "unsafe_output_leaked"
    assert verdict.headline.values["leaked"][0]["planted"].startswith("<script>")
