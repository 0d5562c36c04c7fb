"""jsonpath: the dotted paths scenarios and ledger entries use to name a place in JSON."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faultkit.errors import FaultkitError
from faultkit.formats import jsonpath
from faultkit.formats.jsonpath import JsonPathError

ORDER = {
    "order": {
        "id": 7,
        "items": [{"sku": "a", "price": 3.5}, {"sku": "b", "price": None}],
        "note": None,
    },
    "tags": ["x", "y"],
}


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("choices[0].message.content", ("choices", 0, "message", "content")),
        ("order.items[2].price", ("order", "items", 2, "price")),
        ("", ()),
        ("[1]", (1,)),
        ('a["odd.key"].b', ("a", "odd.key", "b")),
        ("a['single']", ("a", "single")),
        ("orders[*].price", ("orders", "*", "price")),
        ("orders.*", ("orders", "*")),
        ("x-request-id", ("x-request-id",)),
        ("items[-1]", ("items", -1)),
    ],
)
def test_parse_path(text: str, parts: tuple) -> None:
    assert jsonpath.parse_path(text) == parts


@pytest.mark.parametrize("bad", ["a..b", "a.", "a[x]", "a[0", 'a["open', "a[0]b", "a[1.5]"])
def test_parse_path_rejects_bad_syntax_with_a_typed_error(bad: str) -> None:
    with pytest.raises(JsonPathError) as info:
        jsonpath.parse_path(bad)
    assert isinstance(info.value, FaultkitError)
    assert repr(bad) in str(info.value)


def test_format_path_quotes_what_is_not_a_plain_name() -> None:
    assert (
        jsonpath.format_path(("choices", 0, "message", "content")) == "choices[0].message.content"
    )
    assert jsonpath.format_path(("a", "odd.key", "0", "")) == 'a["odd.key"]["0"][""]'
    assert jsonpath.format_path(("orders", "*", "price")) == "orders[*].price"
    assert (
        jsonpath.join("result.structuredContent", ("rows", 1)) == "result.structuredContent.rows[1]"
    )
    assert jsonpath.join("stream[*]", (0, "a")) == "stream[*][0].a"
    assert jsonpath.join("", ("a",)) == "a"


keys = st.one_of(
    st.text(max_size=8).filter(lambda k: k != jsonpath.WILDCARD),
    st.integers(min_value=-5, max_value=1000),
)


@given(st.lists(keys, max_size=6))
def test_format_then_parse_round_trips(parts: list) -> None:
    assert jsonpath.parse_path(jsonpath.format_path(parts)) == tuple(parts)


def test_get_and_exists() -> None:
    assert jsonpath.get(ORDER, "order.items[1].sku") == "b"
    assert jsonpath.get(ORDER, "tags[-1]") == "y"
    assert jsonpath.get(ORDER, "order.note") is None
    assert jsonpath.exists(ORDER, "order.note")
    assert not jsonpath.exists(ORDER, "order.missing")
    assert not jsonpath.exists(ORDER, "tags[5]")
    assert not jsonpath.exists(ORDER, "order.id.deeper")
    assert jsonpath.get(ORDER, "order.missing", "dflt") == "dflt"
    with pytest.raises(JsonPathError, match=r"order\.missing"):
        jsonpath.get(ORDER, "order.missing")


def test_edits_return_new_values_and_never_mutate_the_input() -> None:
    before = copy.deepcopy(ORDER)
    changed = jsonpath.set_value(ORDER, "order.items[0].price", "3.50")
    added = jsonpath.set_value(ORDER, "order.currency", "EUR")
    removed = jsonpath.delete(ORDER, "order.items[0]")
    assert before == ORDER
    assert changed["order"]["items"][0]["price"] == "3.50"
    assert changed["tags"] is ORDER["tags"]  # untouched branches are shared, not copied
    assert added["order"]["currency"] == "EUR"
    assert [i["sku"] for i in removed["order"]["items"]] == ["b"]
    assert jsonpath.set_value(ORDER, "", 1) == 1


def test_set_and_delete_refuse_paths_that_do_not_fit() -> None:
    with pytest.raises(JsonPathError):
        jsonpath.set_value(ORDER, "tags[9]", "z")
    with pytest.raises(JsonPathError):
        jsonpath.set_value(ORDER, "order.id.sub", 1)
    with pytest.raises(JsonPathError):
        jsonpath.delete(ORDER, "order.absent")
    with pytest.raises(JsonPathError):
        jsonpath.delete(ORDER, "")


def test_rename_keeps_the_member_in_place() -> None:
    renamed = jsonpath.rename(ORDER, "order.items", "lines")
    assert list(renamed["order"]) == ["id", "lines", "note"]
    assert renamed["order"]["lines"] == ORDER["order"]["items"]
    with pytest.raises(JsonPathError, match="already exists"):
        jsonpath.rename(ORDER, "order.id", "note")
    with pytest.raises(JsonPathError):
        jsonpath.rename(ORDER, "tags[0]", "x")


def test_enumerating_paths_for_random_choice() -> None:
    fmt = jsonpath.format_path
    assert [fmt(p) for p in jsonpath.field_paths(ORDER)] == [
        "order",
        "order.id",
        "order.items",
        "order.items[0].sku",
        "order.items[0].price",
        "order.items[1].sku",
        "order.items[1].price",
        "order.note",
        "tags",
    ]
    assert [fmt(p) for p in jsonpath.leaf_paths(ORDER)] == [
        "order.id",
        "order.items[0].sku",
        "order.items[0].price",
        "order.items[1].sku",
        "order.items[1].price",
        "order.note",
        "tags[0]",
        "tags[1]",
    ]
    assert [fmt(p) for p in jsonpath.leaf_field_paths(ORDER)][-1] == "order.note"
    assert [fmt(p) for p in jsonpath.list_paths(ORDER)] == ["order.items", "tags"]
    assert [fmt(p) for p in jsonpath.object_paths(ORDER)] == [
        "",
        "order",
        "order.items[0]",
        "order.items[1]",
    ]


def test_expand_and_find_key() -> None:
    fmt = jsonpath.format_path
    assert [fmt(p) for p in jsonpath.expand(ORDER, "order.items[*].price")] == [
        "order.items[0].price",
        "order.items[1].price",
    ]
    assert [fmt(p) for p in jsonpath.expand(ORDER, "order.*")] == [
        "order.id",
        "order.items",
        "order.note",
    ]
    assert jsonpath.expand(ORDER, "tags[-1]") == [("tags", 1)]
    assert jsonpath.expand(ORDER, "order.nothing[*]") == []
    assert [fmt(p) for p in jsonpath.find_key(ORDER, "sku")] == [
        "order.items[0].sku",
        "order.items[1].sku",
    ]
