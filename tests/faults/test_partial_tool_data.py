"""partial_tool_data: a tool answers with part of its data missing, and every removed or nulled
value is recorded with its path and original value (the oracle searches the SUT's answer for
them). Generic JSON tools and MCP tools/call results (JSON and SSE answers)."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass

import pytest
from _fault_samples import body_json, ctx_for, html_plan, json_plan, sse_plan
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from faultkit.engine import Engine
from faultkit.exchange import Request, Response, ResponseHead
from faultkit.faults import FAULTS, FaultSpec
from faultkit.faults.partial_tool_data import PartialToolData
from faultkit.formats import jsonpath
from faultkit.formats.detect import WireFormat
from faultkit.formats.sse import parse_events
from faultkit.scenario import Rule, Scenario

JSON = WireFormat.json
MCP = WireFormat.mcp

ORDERS = {
    "customer": {"id": "c-17", "name": "Ada Lovelace", "email": "ada@example.com"},
    "orders": [
        {"id": "o-1", "status": "shipped", "total": 42.5, "items": [{"sku": "k1", "qty": 1}]},
        {"id": "o-2", "status": "pending", "total": 13.0, "items": [{"sku": "k2", "qty": 3}]},
        {"id": "o-3", "status": "shipped", "total": 99.9, "items": [{"sku": "k3", "qty": 2}]},
        {"id": "o-4", "status": "refunded", "total": 5.25, "items": []},
    ],
    "count": 4,
}


def mcp_result(data: object, *, structured: bool = True, mirror: bool = True) -> dict:
    content = [{"type": "text", "text": json.dumps(data)}] if mirror else []
    content.append({"type": "text", "text": "Found 4 orders."})
    result: dict = {"content": content, "isError": False}
    if structured:
        result["structuredContent"] = data
    return {"jsonrpc": "2.0", "id": 5, "result": result}


def check_recorded(original: object, new: object, alterations: list, prefix: str = "") -> None:
    """Every alteration names a path of the original document and its original value, and
    that value is gone from (or null at) that path in the new document."""
    assert alterations
    for alteration in alterations:
        path = alteration.path.removeprefix(prefix)
        assert jsonpath.get(original, path) == alteration.original
        if alteration.action == "replaced":
            assert jsonpath.get(new, path) is None
        else:
            assert alteration.action == "removed"


def test_drop_a_key_name_at_any_depth() -> None:
    new, alterations = PartialToolData(op="drop_fields", fields=["email"]).apply(
        json_plan(ORDERS), ctx_for(JSON)
    )
    assert [(a.path, a.original) for a in alterations] == [("customer.email", "ada@example.com")]
    assert body_json(new)["customer"] == {"id": "c-17", "name": "Ada Lovelace"}


def test_drop_a_share_of_wildcard_matches_deterministically() -> None:
    fault = PartialToolData(op="drop_fields", fields=["orders[*].total"], fraction=0.5)
    plan = json_plan(ORDERS)
    new, alterations = fault.apply(plan, ctx_for(JSON, seed=3))
    assert (new, alterations) == fault.apply(plan, ctx_for(JSON, seed=3))
    assert len(alterations) == 2
    totals = [o.get("total") for o in body_json(new)["orders"]]
    assert totals.count(None) == 2  # two orders lost their total
    check_recorded(ORDERS, body_json(new), alterations)
    chosen = {
        frozenset(a.path for a in fault.apply(plan, ctx_for(JSON, seed=s)).alterations)
        for s in range(20)
    }
    assert len(chosen) > 1  # the seed decides which ones


def test_random_drop_takes_half_the_scalar_fields() -> None:
    new, alterations = PartialToolData(op="drop_fields").apply(json_plan(ORDERS), ctx_for(JSON, 8))
    leaves = jsonpath.leaf_field_paths(ORDERS)
    assert len(alterations) == round(len(leaves) / 2)
    check_recorded(ORDERS, body_json(new), alterations)
    for alteration in alterations:
        assert not jsonpath.exists(body_json(new), alteration.path)


def test_cut_lists_keeps_the_head_of_the_outermost_list() -> None:
    new, alterations = PartialToolData(op="cut_lists", keep=1).apply(
        json_plan(ORDERS), ctx_for(JSON)
    )
    assert [o["id"] for o in body_json(new)["orders"]] == ["o-1"]
    assert [a.path for a in alterations] == ["orders[1]", "orders[2]", "orders[3]"]
    assert [a.original for a in alterations] == ORDERS["orders"][1:]
    assert body_json(new)["count"] == 4  # the count still claims the full list: partial data


def test_cut_lists_by_key_name_and_fraction() -> None:
    data = {"a": {"rows": [1, 2, 3, 4]}, "b": {"rows": [5, 6]}, "other": [7, 8]}
    new, alterations = PartialToolData(op="cut_lists", fields=["rows"], fraction=0.5).apply(
        json_plan(data), ctx_for(JSON)
    )
    assert body_json(new) == {"a": {"rows": [1, 2]}, "b": {"rows": [5]}, "other": [7, 8]}
    assert [(a.path, a.original) for a in alterations] == [
        ("a.rows[2]", 3),
        ("a.rows[3]", 4),
        ("b.rows[1]", 6),
    ]


def test_null_values() -> None:
    new, alterations = PartialToolData(op="null_values", fields=["total", "customer.name"]).apply(
        json_plan(ORDERS), ctx_for(JSON)
    )
    doc = body_json(new)
    assert [o["total"] for o in doc["orders"]] == [None] * 4
    assert doc["customer"]["name"] is None
    assert {a.original for a in alterations} == {42.5, 13.0, 99.9, 5.25, "Ada Lovelace"}
    assert all(a.value is None and a.action == "replaced" for a in alterations)
    check_recorded(ORDERS, doc, alterations)


def test_mcp_structured_content_and_mirror_change_alike_and_are_recorded_once() -> None:
    message = mcp_result(ORDERS)
    new, alterations = PartialToolData(op="drop_fields", fields=["orders[*].status"]).apply(
        json_plan(message), ctx_for(MCP)
    )
    result = body_json(new)["result"]
    assert all("status" not in o for o in result["structuredContent"]["orders"])
    assert json.loads(result["content"][0]["text"]) == result["structuredContent"]
    assert result["content"][1]["text"] == "Found 4 orders."
    assert result["isError"] is False
    assert len(alterations) == 4
    check_recorded(ORDERS, result["structuredContent"], alterations, "result.structuredContent.")


def test_mcp_is_error_with_partial_content_over_sse() -> None:
    progress = {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 3}}
    body = f"data: {json.dumps(progress)}\n\ndata: {json.dumps(mcp_result(ORDERS))}\n\n".encode()
    plan = sse_plan(body)
    new, alterations = PartialToolData(op="cut_lists", keep=2, is_error=True).apply(
        plan, ctx_for(MCP)
    )
    events = parse_events(new.body_bytes())
    assert events[0].raw == plan.events()[0].raw
    result = events[1].json()["result"]
    assert result["isError"] is True
    assert len(result["structuredContent"]["orders"]) == 2
    assert [a.path for a in alterations] == [
        "result.structuredContent.orders[2]",
        "result.structuredContent.orders[3]",
        "result.isError",
    ]


def test_mcp_json_text_only() -> None:
    message = mcp_result(ORDERS, structured=False)
    new, alterations = PartialToolData(op="drop_fields", fields=["customer"]).apply(
        json_plan(message), ctx_for(MCP)
    )
    assert "customer" not in json.loads(body_json(new)["result"]["content"][0]["text"])
    assert [(a.path, a.original) for a in alterations] == [
        ("result.content[0].text::customer", ORDERS["customer"])
    ]


def test_mcp_prose_result_can_still_be_flagged_as_an_error() -> None:
    message = mcp_result(ORDERS, structured=False, mirror=False)
    plan = json_plan(message)
    assert PartialToolData(op="drop_fields").apply(plan, ctx_for(MCP)) == (plan, [])
    new, (alteration,) = PartialToolData(op="drop_fields", is_error=True).apply(plan, ctx_for(MCP))
    assert body_json(new)["result"]["isError"] is True
    assert (alteration.path, alteration.original, alteration.value) == (
        "result.isError",
        False,
        True,
    )


@pytest.mark.parametrize(
    "plan",
    [
        html_plan(),
        json_plan({"jsonrpc": "2.0", "id": 1, "error": {"code": -32602, "message": "bad"}}),
        json_plan({"nothing": "here"}),
        sse_plan(b'data: {"jsonrpc": "2.0", "method": "notifications/progress"}\n\n'),
    ],
    ids=["html", "jsonrpc-error", "no-match", "sse-without-response"],
)
def test_nothing_to_cut_means_no_change(plan) -> None:  # type: ignore[no-untyped-def]
    fault = PartialToolData(op="drop_fields", fields=["orders"])
    assert fault.apply(plan, ctx_for(MCP)) == (plan, [])


def test_the_input_plan_is_never_modified() -> None:
    data = copy.deepcopy(ORDERS)
    plan = json_plan(data)
    before = plan.body_bytes()
    PartialToolData(op="null_values", fraction=1).apply(plan, ctx_for(JSON))
    assert plan.body_bytes() == before and data == ORDERS


def test_registered_and_validated() -> None:
    assert FAULTS["partial_tool_data"] is PartialToolData
    spec = TypeAdapter(FaultSpec).validate_python({"type": "partial_tool_data", "op": "cut_lists"})
    assert spec.params() == {
        "type": "partial_tool_data",
        "op": "cut_lists",
        "fields": [],
        "fraction": None,
        "keep": None,
        "is_error": False,
    }
    for bad in ({"fraction": 0}, {"fraction": 1.5}, {"keep": -1}, {"fields": ["a..b"]}):
        with pytest.raises(ValidationError):
            PartialToolData(op="drop_fields", **bad)
    assert spec.applies_to(JSON) and spec.applies_to(MCP)
    assert not spec.applies_to(WireFormat.openai_chat)


@dataclass
class _Recording:
    response: Response
    source: str = "orders.yaml#0"


class _OneAnswer:
    def __init__(self, response: Response) -> None:
        self.response = response

    def match(self, request: Request) -> _Recording:
        return _Recording(self.response)


def test_engine_records_the_removed_values_in_the_ledger() -> None:
    response = Response(
        head=ResponseHead(status=200, headers=(("content-type", "application/json"),)),
        body=json.dumps(ORDERS).encode(),
    )
    rule = Rule(fault=PartialToolData(op="cut_lists", keep=3))
    engine = Engine(Scenario(name="partial", rules=[rule]), source=_OneAnswer(response))
    request = Request(method="GET", url="http://tools.local/orders")
    _, plan = engine.handle(request, route="orders", now_ms=0.0)
    assert len(json.loads(plan.body_bytes())["orders"]) == 3
    (entry,) = engine.ledger.entries
    (applied,) = entry.faults
    assert [(a.path, a.original) for a in applied.alterations] == [
        ("orders[3]", ORDERS["orders"][3])
    ]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=15,
)


@given(
    doc=st.dictionaries(st.text(max_size=4), json_values, min_size=1, max_size=4),
    op=st.sampled_from(["drop_fields", "cut_lists", "null_values"]),
    fraction=st.sampled_from([None, 0.3, 1.0]),
    seed=st.integers(0, 2**16),
)
def test_every_removed_value_is_recorded_with_its_original(
    doc: dict, op: str, fraction: float | None, seed: int
) -> None:
    fault = PartialToolData(op=op, fraction=fraction)
    new, alterations = fault.apply(json_plan(doc), ctx_for(JSON, seed))
    if not alterations:
        assert body_json(new) == doc
        return
    check_recorded(doc, body_json(new), alterations)
    removed = sum(1 for a in alterations if a.action == "removed")
    if op == "cut_lists":
        lengths = {a.path.rsplit("[", 1)[0] for a in alterations}
        for path in lengths:
            before, after = jsonpath.get(doc, path), jsonpath.get(body_json(new), path)
            assert after == before[: len(after)]  # the head is kept, the tail is cut
        assert removed == len(alterations)
