"""The search rule for leaked values: distinctive values anywhere, trivial ones only as the
same field's value."""

from __future__ import annotations

from faultkit.oracle.values import distinctive, field_name, find


def test_distinctive_values() -> None:
    assert distinctive("2024-05-03") and distinctive(129.99) and distinctive(1042)
    assert not distinctive(True) and not distinctive(None)
    assert not distinctive(42) and not distinctive(7.5) and not distinctive("UPS")
    assert not distinctive("null") and not distinctive("unknown")


def test_a_distinctive_value_is_found_in_any_field_and_inside_text() -> None:
    answer = {"eta": "2024-05-03", "note": "arrives 2024-05-03", "total": "$129.99 incl. tax"}
    how = {(h.path, h.how) for h in find(answer, "2024-05-03", "eta")}
    assert how == {("eta", "value"), ("note", "text")}
    assert [h.path for h in find(answer, 129.99, "total")] == ["total"]


def test_words_and_numbers_match_whole() -> None:
    assert find({"s": "it shipped"}, "ship") == []
    assert find({"s": "order 11042"}, 1042) == []
    assert find({"s": "costs 129.995"}, 129.99) == []


def test_a_trivial_value_counts_only_as_the_same_field() -> None:
    assert [h.path for h in find({"x": {"gift": True}}, True, "gift")] == ["x.gift"]
    assert find({"in_stock": True}, True, "gift") == []
    assert find({"count": 3, "text": "3 items"}, 3, "qty") == []
    assert find({"eta": None}, None, "eta") == []


def test_containers_are_searched_leaf_by_leaf_under_their_own_names() -> None:
    removed = {"carrier": "UPS", "tracking": "1Z999AA10123456784"}
    hits = find({"carrier": "UPS", "text": "tracking 1Z999AA10123456784"}, removed, "shipping")
    assert {(h.path, h.how) for h in hits} == {("carrier", "field"), ("text", "text")}


def test_exact_type_ignores_coerced_values_and_text() -> None:
    assert find({"id": 1042, "s": "1042"}, "1042", "id", exact_type=True)[0].path == "s"
    assert find({"id": 1042}, "1042", "id", exact_type=True) == []


def test_field_name_reads_paths_into_embedded_json() -> None:
    assert field_name("choices[0].message.content::order.total") == "total"
    assert field_name("result.structuredContent.items[2]") == "items"
    assert field_name("result.content[0].text::eta") == "eta"


def test_a_number_is_found_when_quoted_with_trailing_zeros() -> None:
    from faultkit.oracle.values import find

    assert find({"answer": "Total 138.00 EUR"}, 138.0, "total")
    assert find({"answer": "Total 129.990 EUR"}, 129.99, "total")
    assert not find({"answer": "Total 1380 EUR"}, 138.0, "total")
    assert not find({"answer": "Total 129.991 EUR"}, 129.99, "total")


def test_a_short_number_is_found_where_the_text_names_its_field() -> None:
    assert [h.how for h in find({"s": "It arrives in 18 days."}, 18, "eta_days")] == ["named"]
    assert [h.how for h in find({"s": "ETA: 18"}, 18, "eta_days")] == ["named"]
    assert [h.how for h in find({"s": "only 1 day left"}, 1, "etaDays")] == ["named"]
    assert [h.how for h in find({"s": "rated 7.5 out of ten"}, 7.5, "rating")] == []
    assert [h.how for h in find({"s": "a 7.5 rating"}, 7.5, "rating")] == ["named"]
    hit = find({"note": "ok", "eta_days": "18 days"}, 18, "eta_days")
    assert [(h.path, h.how) for h in hit] == [("eta_days", "field")]
    assert "next to 'eta_days'" in find({"s": "in 18 days"}, 18, "eta_days")[0].describe()


def test_a_short_number_elsewhere_is_a_coincidence() -> None:
    assert find({"s": "18 of them were sorted"}, 18, "eta_days") == []
    assert find({"s": "Order 1 of 3 items"}, 1, "items") == []  # 3 is the one next to items
    assert find({"s": "18 parcels were sorted within two days"}, 18, "eta_days") == []
    assert find({"s": "day: 2024-05-03"}, 5, "day") == []  # a date's digits are the date's
    assert find({"s": "in 18 days"}, 18, None) == []
    assert find({"s": "id 7"}, 7, "id") == []  # no word of the name is long enough to tell
    assert find({"s": "in 180 days"}, 18, "eta_days") == []
    assert find({"eta_days": "within 180 days"}, 18, "eta_days") == []


def test_name_words_split_a_field_name_the_way_a_sentence_says_it() -> None:
    from faultkit.oracle.values import name_words

    assert name_words("eta_days") == name_words("etaDays") == {"eta", "day"}
    assert name_words("total-items") == {"total", "item"}
    assert name_words("value") == set() and name_words("id") == set()
