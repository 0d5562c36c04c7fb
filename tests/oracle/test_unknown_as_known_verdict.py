"""unknown_as_known: values a partial-data fault took from the tool show up in the answer."""

from __future__ import annotations

import json

import httpx
import pytest
from oracle_world import Answer, Recording, World, chat_completion, model_answer, rules

from faultkit.exchange import Request, Response, ResponseHead
from faultkit.oracle import Contract, Verdict, capture, judge
from faultkit.session import FaultkitSession

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


# -- a default standing in for an unknown ------------------------------------------------------
def fills_defaults(world: World) -> dict:
    """The planted bug: a field the tool did not send gets the model's default, stated as fact."""
    order = world.order().json()
    return {
        "order_id": "1042",
        "status": order.get("status") or "requested",
        "eta": order.get("eta") or "",
        "total": order.get("total") or 0.0,
        "gift": order.get("gift") or False,
    }


def says_unknown(world: World) -> dict:
    order = world.order().json()
    return {
        "order_id": "1042",
        "status": order.get("status") or "unknown",
        "eta": order.get("eta"),
        "total": order.get("total"),
        "gift": order.get("gift", "not available"),
    }


def defaults(verdict) -> list[tuple[str, object]]:
    assert verdict.kind == "unknown_as_known", verdict.explain()
    return [(h["found_at"], h["found"]) for h in verdict.headline.values["leaked"]]


@pytest.mark.parametrize(
    ("op", "field", "default"),
    [
        ("drop_fields", "total", 0.0),
        ("drop_fields", "status", "requested"),
        ("null_values", "eta", ""),
        ("drop_fields", "gift", False),
    ],
)
def test_a_default_for_a_field_the_tool_did_not_send_is_flagged(
    op: str, field: str, default: object
) -> None:
    verdict = World(rules(partial(op, f"[{field}]"))).run(fills_defaults, Contract())
    assert defaults(verdict) == [(field, default)]
    (hit,) = verdict.headline.values["leaked"]
    assert hit["how"] == "default" and hit["path"] == field and hit["entry"] == 1
    assert f"states {default!r} at {field}" in verdict.headline.summary


def test_null_or_an_unknown_marker_for_the_missing_field_passes() -> None:
    world = World(rules(partial("drop_fields", "[status, eta, total, gift]")))
    verdict = world.run(says_unknown, Contract())
    assert verdict.kind == "pass", verdict.explain()


def test_a_default_for_a_field_dropped_from_an_mcp_result_is_flagged() -> None:
    def mcp_defaults(world: World) -> dict:
        order = world.mcp_order()["structuredContent"]
        return {"order_id": "1042", "eta": order.get("eta", "")}

    verdict = World(rules(partial("drop_fields", "[eta]", route="tools.example"))).run(
        mcp_defaults, Contract()
    )
    assert defaults(verdict) == [("eta", "")]
    assert verdict.headline.values["leaked"][0]["path"] == "result.structuredContent.eta"


def test_declared_tool_fields_keep_the_sut_own_fields_out() -> None:
    # The tool's `status` went missing; the answer's `status` is the assistant's own.
    def own_status(world: World) -> dict:
        order = world.order().json()
        return {"status": "answered", "eta": order.get("eta"), "total": order.get("total")}

    world = World(rules(partial("drop_fields", "[status]")))
    assert world.run(own_status, Contract(tool_fields=["eta", "total"])).kind == "pass"
    world = World(rules(partial("drop_fields", "[status]")))
    assert defaults(world.run(own_status, Contract())) == [("status", "answered")]


def test_a_value_the_user_gave_for_the_missing_field_is_not_a_default() -> None:
    def carrier_asked_for(world: World, request: dict) -> dict:
        order = world.order().json()
        return {"order_id": "1042", "carrier": order.get("carrier") or request["carrier"]}

    world = World(rules(partial("drop_fields", "[carrier]")))
    verdict = world.run_with(carrier_asked_for, {"carrier": "DHL"})
    assert verdict.kind == "pass", verdict.explain()


def test_a_retry_that_delivered_the_field_makes_it_known() -> None:
    once = "{match: {route: orders.example}, when: {nth: 1}, "
    once += "fault: {type: partial_tool_data, op: drop_fields, fields: [eta, total]}}"

    def asks_again(world: World) -> dict:
        if "eta" not in world.order().json():
            world.order()  # the same request again: this answer is complete
        return fills_defaults(world)

    verdict = World(rules(once)).run(asks_again, Contract())
    assert not verdict.has("unknown_as_known"), verdict.explain()
    # ...while the same app without the retry states the defaults.
    assert defaults(World(rules(once)).run(fills_defaults, Contract())) == [
        ("eta", ""),
        ("total", 0.0),
    ]


def test_a_default_for_a_field_drifted_out_of_the_model_answer_is_flagged() -> None:
    drop = "{match: {route: openai}, fault: {type: schema_drift, op: drop, path: status}}"

    def defaults_status(world: World) -> dict:
        return {"status": "requested", **model_answer(world.chat())}

    verdict = World(rules(drop)).run(defaults_status, CONTRACT)
    assert defaults(verdict) == [("status", "requested")]
    assert verdict.headline.values["leaked"][0]["path"].endswith("content::status")


def test_a_provider_envelope_field_is_not_the_answer_data() -> None:
    # `model` dropped from the chat completion's envelope; the answer's `model` is the SUT's own.
    drop = (
        "{match: {route: openai}, fault: {type: schema_drift, target: body, op: drop, path: model}}"
    )

    def names_its_model(world: World) -> dict:
        return {"model": "gpt-4o-mini", **model_answer(world.chat())}

    verdict = World(rules(drop)).run(names_its_model, Contract())
    assert verdict.kind == "pass", verdict.explain()


# -- short numbers and list items: a parcel tracker ------------------------------------------
PARCEL = {
    "parcel": "P-77",
    "status": "in_transit",
    "eta_days": 18,
    "stops": [{"city": "Leeds", "eta_days": 2}, {"city": "York", "eta_days": 18}],
}
PARCEL_URL = "https://parcels.example/parcels/P-77"
RECORDED_TEXT = "Parcel P-77 is in transit and arrives in 18 days."


class ParcelStore:
    """The parcel tool, and a model answer recorded when the tool's data was complete."""

    def match(self, request: Request) -> Recording:
        head = ResponseHead(status=200, headers=(("content-type", "application/json"),))
        if request.path.endswith("/chat/completions"):
            body = chat_completion(RECORDED_TEXT, request.json_body["model"])
            return Recording(Response(head=head, body=json.dumps(body).encode()), "memory#chat")
        return Recording(Response(head=head, body=json.dumps(PARCEL).encode()), "memory#parcel")


def judge_parcel(fault: dict, app) -> Verdict:
    with FaultkitSession(store=ParcelStore()) as fk:
        fk.inject(fault, match={"route": "parcels.example"})
        http = fk.client()
        result = capture(app, http)
        return judge(fk.ledger, result, Contract())


def relays_the_model(http: httpx.Client) -> str:
    http.get(PARCEL_URL)  # looked up, never read
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Where is P-77?"}]}
    answer = http.post("https://api.openai.com/v1/chat/completions", json=body).json()
    return answer["choices"][0]["message"]["content"]


def test_a_short_number_stated_next_to_its_field_name_is_found() -> None:
    # Every eta_days goes, the parcel's (18) and its stops'; the recorded sentence states 18.
    fault = {"type": "partial_tool_data", "op": "drop_fields", "fields": ["eta_days"]}
    verdict = judge_parcel(fault, relays_the_model)
    assert verdict.kind == "unknown_as_known", verdict.explain()
    (hit,) = verdict.headline.values["leaked"]
    assert (hit["value"], hit["how"], hit["found"]) == (18, "named", RECORDED_TEXT)


def test_the_sut_that_says_the_arrival_is_unknown_passes() -> None:
    def checks(http: httpx.Client) -> str:
        parcel = http.get(PARCEL_URL).json()
        if "eta_days" not in parcel:
            return "Parcel P-77 is in transit; its arrival is unknown."
        return f"Parcel P-77 is in transit and arrives in {parcel['eta_days']} days."

    fault = {"type": "partial_tool_data", "op": "drop_fields", "fields": ["eta_days"]}
    assert judge_parcel(fault, checks).kind == "pass"


def test_a_field_taken_from_one_list_item_is_that_item_only() -> None:
    fault = {"type": "partial_tool_data", "op": "null_values", "fields": ["stops[0].eta_days"]}

    def reports(first_stop_days):
        def app(http: httpx.Client) -> dict:
            parcel = http.get(PARCEL_URL).json()
            first, second = parcel["stops"]
            return {
                "eta_days": parcel["eta_days"],  # 18, delivered: the parcel's own
                "stops": [
                    {"city": "Leeds", "eta_days": first_stop_days(first)},
                    {"city": "York", "eta_days": second["eta_days"]},
                ],
            }

        return app

    assert judge_parcel(fault, reports(lambda stop: stop["eta_days"])).kind == "pass"
    leaked = judge_parcel(fault, reports(lambda stop: stop["eta_days"] or 0))
    assert defaults(leaked) == [("stops[0].eta_days", 0)]
    leaked = judge_parcel(fault, reports(lambda stop: 2))  # the recorded value passed on
    assert [(h["found_at"], h["how"]) for h in leaked.headline.values["leaked"]] == [
        ("stops[0].eta_days", "field")
    ]
