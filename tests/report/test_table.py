"""The one text-table renderer (CLI, pytest plugin, run and load reports) and its colour rule."""

from __future__ import annotations

import io

import pytest

from faultkit.report.table import RED, RESET, text_table, use_color


def test_columns_are_as_wide_as_their_widest_cell_and_the_last_is_not_padded() -> None:
    lines = text_table(
        [["retry-storm", "2", "a long description"], ["x", "10", "short"]],
        header=["NAME", "RULES", "DESCRIPTION"],
    )
    assert lines == [
        "NAME         RULES  DESCRIPTION",
        "retry-storm  2      a long description",
        "x            10     short",
    ]


def test_right_aligned_columns_minimum_widths_and_indent() -> None:
    lines = text_table(
        [["base", "510", "7.4"], ["provider-latency", "12", "308.5"]],
        header=["run", "requests", "p50"],
        right={1, 2},
        min_widths=[8, 8, 8],
        indent="  ",
    )
    assert lines == [
        "  run               requests       p50",
        "  base                   510       7.4",
        "  provider-latency        12     308.5",
    ]


def test_colour_codes_do_not_count_towards_the_width() -> None:
    def paint(row: int, column: int, padded: str) -> str:
        return f"{RED}{padded}{RESET}" if (row, column) == (0, 1) else padded

    plain = text_table([["a", "crash", "x"], ["bb", "pass", "y"]], header=["S", "T", "U"])
    painted = text_table(
        [["a", "crash", "x"], ["bb", "pass", "y"]], header=["S", "T", "U"], paint=paint
    )
    assert painted[0] == plain[0]  # the header is never painted
    assert painted[1] == plain[1].replace("crash", f"{RED}crash{RESET}")
    assert painted[2] == plain[2]


def test_no_rows_and_no_header_is_no_lines() -> None:
    assert text_table([]) == []
    assert text_table([], header=["A", "B"]) == ["A  B"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(_Terminal())
    assert not use_color(io.StringIO())  # piped
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(_Terminal())
    monkeypatch.setenv("NO_COLOR", "")  # no-color.org: an empty value does not count
    assert use_color(_Terminal())
