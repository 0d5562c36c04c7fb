"""Schema drift from the SUT's own output model and from recorded payloads, and partial tool
data over a recorded tool answer: aimed at real fields, and every one really breaks the
contract (or removes data) when applied."""

from __future__ import annotations

import json
import random
from typing import Literal

import pytest
from _samples import ORDER, ORDERS, Source, request
from hypothesis import given, settings
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from faultkit.engine import Engine
from faultkit.errors import FaultkitError
from faultkit.faults.partial_tool_data import PartialToolData
from faultkit.faults.schema_drift import SchemaDrift
from faultkit.formats import jsonpath
from faultkit.scenario import Match, Rule, Scenario
from faultkit.strategies import model_fields, partial_tool_data, schema_drifts

FAST = settings(max_examples=60, deadline=None, database=None, derandomize=True)


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str
    qty: int


class Answer(BaseModel):
    """A strict output contract: every field required, no extras, exact types."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    order_id: str = Field(alias="orderId")
    status: Literal["pending", "shipped", "delivered"]
    total: float
    eta: str | None
    gift: bool
    items: list[Item]


VALID = {
    "orderId": "1234",
    "status": "shipped",
    "total": 138.0,
    "eta": "2026-03-14",
    "gift": False,
    "items": [{"sku": "A-1", "qty": 2}, {"sku": "B-7", "qty": 1}],
}


def _drifted(fault: SchemaDrift, doc: dict) -> dict:
    new, changes = fault.drift(doc, random.Random(0))
    assert changes, f"{fault} changed nothing"
    return new


def test_the_model_is_read_as_json_sees_it() -> None:
    slots = {slot.path: slot for slot in model_fields(Answer)}
    assert list(slots) == [
        "orderId",
        "status",
        "total",
        "eta",
        "gift",
        "items",
        "items[*].sku",
        "items[*].qty",
    ]
    assert slots["status"].kind == "enum"
    assert slots["status"].choices == ("pending", "shipped", "delivered")
    assert slots["eta"].nullable and not slots["total"].nullable
    assert slots["items"].kind == "list"


@FAST
@given(fault=schema_drifts(Answer))
def test_every_drift_of_the_model_breaks_its_contract(fault: SchemaDrift) -> None:
    """Drift aimed at the model's own fields: each one, applied to a valid answer, makes the
    answer fail strict validation, which is what a robust SUT must notice."""
    Answer.model_validate(VALID, strict=True)  # the baseline is valid
    assert fault.target == "output"
    if fault.op != "add":
        assert jsonpath.expand(VALID, fault.path), f"{fault.path} is not a field of the model"
    with pytest.raises(ValidationError):
        Answer.model_validate(_drifted(fault, VALID), strict=True)


@FAST
@given(fault=schema_drifts(Answer))
def test_enum_and_null_drifts_leave_the_allowed_values(fault: SchemaDrift) -> None:
    if fault.op != "retype" or "value" not in fault.model_fields_set:
        return
    if fault.path == "status":
        assert fault.value not in ("pending", "shipped", "delivered")
    if fault.value is None:
        assert fault.path != "eta"  # null is allowed there: not drift


def test_model_drifts_cover_every_kind_of_change() -> None:
    seen: set[str] = set()

    @FAST
    @given(fault=schema_drifts(Answer))
    def collect(fault: SchemaDrift) -> None:
        if fault.op == "retype" and "value" in fault.model_fields_set:
            if fault.value is None:
                seen.add("null")
            elif fault.path == "status":
                seen.add("enum outside the set")
            elif fault.path == "total" and isinstance(fault.value, str):
                seen.add("number as string")
            else:
                seen.add("wrong type")
        else:
            seen.add(fault.op)

    collect()
    assert seen >= {
        "rename",
        "drop",
        "retype",
        "add",
        "nest",
        "null",
        "enum outside the set",
        "number as string",
        "wrong type",
    }


@FAST
@given(fault=schema_drifts(payload=json.dumps(ORDER), target="body"))
def test_payload_drifts_name_recorded_fields_and_keep_real_values(fault: SchemaDrift) -> None:
    assert fault.target == "body"
    if fault.op == "add":
        parent = jsonpath.parse_path(fault.path)[:-1]
        assert parent == () or isinstance(jsonpath.get(ORDER, parent), dict)
        return
    assert jsonpath.exists(ORDER, fault.path)
    if fault.op == "retype" and fault.path == "total" and isinstance(fault.value, str):
        assert fault.value in ("138.0", "n/a")  # the recorded number, sent as a string
    assert _drifted(fault, ORDER) != ORDER


def test_drift_strategies_refuse_what_they_cannot_use() -> None:
    with pytest.raises(FaultkitError, match="pydantic model"):
        schema_drifts(dict)  # type: ignore[arg-type]
    with pytest.raises(FaultkitError, match="JSON"):
        schema_drifts(payload="not json")
    with pytest.raises(FaultkitError, match="target"):
        schema_drifts(Answer, target="headers")  # type: ignore[arg-type]


# -- partial tool data ----------------------------------------------------------------------------


def _tool_answer(fault: PartialToolData):
    rule = Rule(match=Match(route="orders.internal"), fault=fault)
    engine = Engine(Scenario(name="t", rules=[rule]), source=Source())
    selection, plan = engine.handle(request(ORDERS), "orders.internal", 0.0)
    return json.loads(plan.body_bytes()), selection.entry


@FAST
@given(fault=partial_tool_data(ORDER))
def test_partial_tool_data_removes_recorded_values(fault: PartialToolData) -> None:
    """Every generated fault removes (or nulls) part of the recorded answer, names it by path,
    and records the value that went missing, which the oracle looks for in the answer."""
    answer, entry = _tool_answer(fault)
    assert answer != ORDER
    assert [f.type for f in entry.faults] == ["partial_tool_data"]
    alterations = entry.faults[0].alterations
    assert alterations
    for alteration in alterations:
        assert jsonpath.get(ORDER, alteration.path) == alteration.original
    if fault.op == "cut_lists":
        assert len(answer["items"]) == fault.keep < len(ORDER["items"])


def test_a_root_field_whose_name_recurs_deeper_is_anchored_at_the_root() -> None:
    """``id`` is both the order's and each item's key: dropping the order's id must not touch
    the items."""
    found: list[PartialToolData] = []

    @FAST
    @given(fault=partial_tool_data(ORDER))
    def collect(fault: PartialToolData) -> None:
        if fault.op == "drop_fields" and fault.fields == ['["id"]']:
            found.append(fault)

    collect()
    assert found
    answer, _ = _tool_answer(found[0])
    assert "id" not in answer
    assert [item["id"] for item in answer["items"]] == ["A-1", "B-7"]


def test_partial_tool_data_needs_something_to_remove() -> None:
    with pytest.raises(FaultkitError, match="no fields"):
        partial_tool_data([])


def test_a_null_drift_survives_its_scenario_file() -> None:
    fault = SchemaDrift(op="retype", path="total", value=None)
    plan = Scenario(name="null-drift", rules=[Rule(fault=fault)])
    reloaded = Scenario.from_yaml(plan.to_yaml()).rules[0].fault
    assert reloaded.drift(VALID, random.Random(0))[0]["total"] is None
