"""lying_tool: a tool answers with its shape intact and plausible wrong values, each change
recorded with the true value and the lie (the oracle searches the SUT's answer for the truth)."""

from __future__ import annotations

import json

import pytest
from _fault_samples import body_json, ctx_for, json_plan
from hypothesis import given, settings
from hypothesis import strategies as st

from faultkit.faults import FAULTS
from faultkit.faults._search import Limits
from faultkit.faults.lying_tool import LyingTool, moved_date, shifted
from faultkit.formats import jsonpath
from faultkit.formats.detect import WireFormat

ORDER = {
    "id": "1042",
    "status": "shipped",
    "eta": "2024-05-03",
    "shipped_at": "2024-04-29T08:15:00Z",
    "carrier": "UPS",
    "total": 129.99,
    "items_count": 3,
    "items": [{"sku": "KB-7731"}, {"sku": "MS-0042"}, {"sku": "PD-1100"}],
}


def lie(fault: LyingTool, doc: object = ORDER, seed: int = 0):
    applied = fault.apply(json_plan(doc), ctx_for(WireFormat.json, seed))
    return body_json(applied.plan), applied.alterations


def test_it_is_one_module_in_the_registry() -> None:
    assert FAULTS["lying_tool"] is LyingTool and LyingTool.category == "meaning"


@pytest.mark.parametrize("seed", range(8))
def test_a_shifted_number_is_plausible_and_wrong(seed: int) -> None:
    new, (alt,) = lie(LyingTool(op="shift_number", fields=["total"]), seed=seed)
    assert alt.path == "total" and alt.action == "replaced" and alt.original == 129.99
    assert new["total"] == alt.value != 129.99
    assert 129.99 * 0.45 <= new["total"] <= 129.99 * 1.55  # 10-50 % either way
    assert {k: v for k, v in new.items() if k != "total"} == {
        k: v for k, v in ORDER.items() if k != "total"
    }


def test_an_integer_stays_an_integer_and_by_is_honoured() -> None:
    new, _ = lie(LyingTool(op="shift_number", fields=["items_count"], by=0.01))
    assert new["items_count"] == 4 and isinstance(new["items_count"], int)  # never equal
    assert shifted(129.99, 0.2) == 155.99 and shifted(0, -0.3) == -1


def test_a_moved_date_keeps_its_format() -> None:
    new, alts = lie(LyingTool(op="move_date", fields=["eta", "shipped_at"], by=7))
    assert new["eta"] == "2024-05-10" and new["shipped_at"] == "2024-05-06T08:15:00Z"
    assert [(a.path, a.original) for a in alts] == [
        ("eta", "2024-05-03"),
        ("shipped_at", "2024-04-29T08:15:00Z"),
    ]
    assert moved_date("2024-02-28T23:00:00+02:00", 1) == "2024-02-29T23:00:00+02:00"


def test_swapped_values_trade_places_within_one_type() -> None:
    new, alts = lie(LyingTool(op="swap_values", fields=["status", "carrier"]))
    assert (new["status"], new["carrier"]) == ("UPS", "shipped")
    assert [(a.path, a.original, a.value) for a in alts] == [
        ("status", "shipped", "UPS"),
        ("carrier", "UPS", "shipped"),
    ]


@pytest.mark.parametrize(("op", "kept"), [("empty_list", 0), ("shorten_list", 1)])
def test_a_list_loses_items_and_the_truth_is_kept(op: str, kept: int) -> None:
    new, (alt,) = lie(LyingTool(op=op, fields=["items"]))
    assert len(new["items"]) == kept and alt.action == "truncated"
    assert alt.original == ORDER["items"] and alt.value == new["items"]


def test_chosen_at_random_when_no_field_is_named_and_the_same_for_a_seed() -> None:
    first = lie(LyingTool(op="shift_number"), seed=3)
    assert first == lie(LyingTool(op="shift_number"), seed=3)
    (alt,) = first[1]
    assert alt.path in ("total", "items_count")


def test_an_mcp_result_changes_its_data_and_its_mirror_alike() -> None:
    result = {
        "content": [{"type": "text", "text": json.dumps(ORDER)}],
        "structuredContent": ORDER,
        "isError": False,
    }
    message = {"jsonrpc": "2.0", "id": 4, "result": result}
    applied = LyingTool(op="move_date", fields=["eta"], by=-2).apply(
        json_plan(message), ctx_for(WireFormat.mcp)
    )
    new = body_json(applied.plan)["result"]
    assert new["structuredContent"]["eta"] == "2024-05-01"
    assert json.loads(new["content"][0]["text"])["eta"] == "2024-05-01"
    (alt,) = applied.alterations  # the mirror holds the same value: recorded once
    assert alt.path == "result.structuredContent.eta" and alt.original == "2024-05-03"


def test_nothing_to_lie_about_leaves_the_answer_alone() -> None:
    plan = json_plan({"ok": True})
    for op in ("shift_number", "move_date", "swap_values", "shorten_list"):
        applied = LyingTool(op=op).apply(plan, ctx_for(WireFormat.json))
        assert applied.plan == plan and applied.alterations == []


def test_it_applies_to_tools_not_to_providers() -> None:
    fault = LyingTool(op="shift_number")
    assert fault.applies_to(WireFormat.json) and fault.applies_to(WireFormat.mcp)
    assert not fault.applies_to(WireFormat.openai_chat)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_every_searched_fault_changes_only_what_it_records(data: st.DataObject) -> None:
    fault = data.draw(LyingTool.strategy(Limits(), None))
    new, alts = lie(fault, seed=data.draw(st.integers(0, 100)))
    assert alts  # this order has something for every op
    recorded = {a.path for a in alts}
    for parts, value in jsonpath.walk(ORDER):
        if not parts or isinstance(value, dict | list):
            continue
        path = jsonpath.format_path(parts)
        inside = any(path == r or path.startswith((r + "[", r + ".")) for r in recorded)
        assert inside or jsonpath.get(new, parts, None) == value, path
