"""The one table renderer (CLI, pytest plugin, run and load reports): text with its colour
rule, and HTML from the same table model."""

from __future__ import annotations

import io
from html.parser import HTMLParser

import pytest

from faultkit.report.table import (
    CSS,
    MARKER,
    RED,
    RESET,
    Column,
    Table,
    TableCell,
    html_table,
    text_table,
    use_color,
)


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


# -- the table model and its HTML rendering ---------------------------------------------------


def _table(rows: list, **kw: object) -> Table:
    columns = [Column("name"), Column("count", numeric=True), Column("cmd", code=True)]
    return Table(columns, rows, kind="sample", **kw)  # type: ignore[arg-type]


def test_html_escapes_every_text_once() -> None:
    nasty = "<b>\"x\" & 'y'</b>"
    page = html_table(
        Table(
            [Column(nasty, note=nasty)],
            [[TableCell(nasty, style="ok", tip=nasty, note=nasty, link="s-a")]],
        )
    )
    assert "<b>" not in page and "&lt;b&gt;" in page
    assert "&amp;amp;" not in page  # escaped once, not twice
    parsed = _parse(page)
    assert parsed.texts == [[nasty + nasty], [nasty + nasty]]  # heading + note, cell + note
    assert parsed.attrs[1][0]["title"] == nasty


def test_numeric_columns_are_right_aligned_in_html_and_in_text() -> None:
    table = _table([["a", "7", "faultkit run x"], ["bb", "1234", ""]])
    parsed = _parse(html_table(table))
    assert [a.get("class") for a in parsed.attrs[0]] == [None, "num", None]  # headings
    assert [a.get("class") for a in parsed.attrs[1]] == [None, "num", None]
    assert "td.num" in CSS and "text-align:right" in CSS
    assert "<code>faultkit run x</code>" in html_table(table)
    assert "<code></code>" not in html_table(table)  # an empty command is no code
    assert table.lines() == ["name  count  cmd", "a         7  faultkit run x", "bb     1234"]


def test_styles_become_classes_beside_the_numeric_one() -> None:
    table = _table([[TableCell("x", style="fail"), TableCell("3", style="ok"), "c"]])
    parsed = _parse(html_table(table))
    assert [a.get("class") for a in parsed.attrs[1]] == ["fail", "ok num", None]
    assert table.style_of(0, 0) == "fail" and table.style_of(0, 2) is None


def test_row_headers_links_and_the_marker_class() -> None:
    table = Table(
        [Column("SCENARIO"), Column("t")],
        [[TableCell("calm", link="s-calm"), "pass"]],
        kind="matrix",
        row_headers=True,
    )
    page = html_table(table)
    assert page.startswith(f'<table class="{MARKER} matrix">')
    assert '<tr><th><a href="#s-calm">calm</a></th><td>pass</td></tr>' in page


def test_an_empty_table_says_so_instead_of_drawing_a_header() -> None:
    page = html_table(_table([], empty="No runs."))
    assert "<table" not in page and "No runs." in page and MARKER in page
    assert "Nothing to show." in html_table(_table([]))
    assert _table([]).lines() == ["name  count  cmd"]


class _Cells(HTMLParser):
    """Each row's cell texts and attributes (headings are row 0)."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[list[str]] = []
        self.attrs: list[list[dict[str, str | None]]] = []
        self.depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.texts.append([])
            self.attrs.append([])
        elif tag in ("td", "th"):
            self.texts[-1].append("")
            self.attrs[-1].append(dict(attrs))

    def handle_data(self, data: str) -> None:
        if self.texts and self.texts[-1]:
            self.texts[-1][-1] += data


def _parse(page: str) -> _Cells:
    parser = _Cells()
    parser.feed(page)
    return parser
