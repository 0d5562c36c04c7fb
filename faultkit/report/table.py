"""Tables: one model, rendered as text for the terminal and as HTML for the reports.

``faultkit scenarios list``, the plugin's "faults injected" summary, the verdict matrix of
``faultkit run`` and the latency tables of ``faultkit load`` are all columns of short strings.
Each had its own padding loop; they now share :func:`text_table` and the one colour rule,
:func:`use_color`. The HTML pages (``report.html``, ``load.html``) had one hand-built
``<table>`` each, with escaping and alignment repeated in every one; they now describe a
:class:`Table` (columns, rows of :class:`TableCell`) and :func:`html_table` draws it, so a
table is built once and says the same in both places (:meth:`Table.lines` is its text).

Plain ASCII with ANSI colour only on a terminal (never when piped, never with ``NO_COLOR``
set, https://no-color.org). This is the output for pipes, files and tests, and the README
quotes it, so it is the same on every install; on a terminal with rich installed,
:mod:`faultkit.report.rich_view` draws the same rows with rich instead (and falls back to
this renderer everywhere else).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from html import escape
from typing import TextIO

GREEN, RED, YELLOW, BOLD, RESET = "\033[32m", "\033[31m", "\033[33m", "\033[1m", "\033[0m"

Paint = Callable[[int, int, str], str]
"""``paint(row, column, padded_text)`` -> the text to print (with ANSI codes around it, say);
``row`` counts the data rows from 0, the header is not painted."""


def use_color(stream: TextIO) -> bool:
    """Colour only on a terminal, and never with ``NO_COLOR`` set to a non-empty value (as
    no-color.org defines it: an empty ``NO_COLOR`` does not count)."""
    return bool(getattr(stream, "isatty", lambda: False)()) and not os.environ.get("NO_COLOR")


def text_table(
    rows: Sequence[Sequence[str]],
    *,
    header: Sequence[str] | None = None,
    right: Collection[int] = (),
    min_widths: Sequence[int] = (),
    indent: str = "",
    paint: Paint | None = None,
) -> list[str]:
    """The lines of a table: columns two spaces apart, each as wide as its widest cell (or
    ``min_widths[i]``), left-aligned unless its index is in ``right``; trailing spaces cut, so
    a long last column (a description) is never padded. Colour codes from ``paint`` are added
    after padding and do not count towards the width."""
    every = [list(header)] if header is not None else []
    every += [list(r) for r in rows]
    if not every:
        return []
    columns = max(len(r) for r in every)
    widths = [max([len(r[i]) for r in every if i < len(r)] + [0]) for i in range(columns)]
    widths = [max(w, min_widths[i] if i < len(min_widths) else 0) for i, w in enumerate(widths)]

    def line(cells: list[str], row: int | None) -> str:
        out = []
        for i, cell in enumerate(cells):
            padded = cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            out.append(paint(row, i, padded) if paint is not None and row is not None else padded)
        return (indent + "  ".join(out)).rstrip()

    lines = [line(list(header), None)] if header is not None else []
    lines += [line(list(r), n) for n, r in enumerate(rows)]
    return lines


# -- the table model ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """A column: its heading, and how its cells are set. ``numeric`` columns are right-aligned
    in both renderings (numbers compare by their last digits); ``code`` cells are set in
    monospace in HTML (a command to copy); ``note`` is a second, muted heading line in HTML
    (the wire format under a route); ``min_width`` pads the text rendering, so that two tables
    printed one under the other line up."""

    name: str
    numeric: bool = False
    code: bool = False
    note: str = ""
    min_width: int = 0


@dataclass(frozen=True)
class TableCell:
    """One cell. ``text`` is all the terminal shows. ``style`` names what the cell means
    (``ok``, ``bad``, ``fail``, ``unfired``: the terminal paints these names,
    :data:`~faultkit.report.rich_view.STYLES`; in HTML it is the cell's CSS class, so a page
    can colour other names too). HTML alone has room for ``tip`` (shown on hover), ``note``
    (a second, muted line) and ``link`` (an anchor on the page the text points to)."""

    text: str
    style: str | None = None
    tip: str = ""
    note: str = ""
    link: str = ""


Row = Sequence["TableCell | str"]
"""A row: a plain string is a cell with nothing but its text."""


@dataclass(frozen=True)
class Table:
    """Columns and rows, built once by a report and drawn by :meth:`lines` (text) and
    :func:`html_table`. ``kind`` names the table in HTML (its CSS class: ``matrix``,
    ``ledger``...); ``row_headers`` makes each row's first cell its heading (a matrix's
    label); ``empty`` is what HTML says instead of a table without rows."""

    columns: Sequence[Column]
    rows: Sequence[Row]
    kind: str = ""
    row_headers: bool = False
    empty: str = "Nothing to show."

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    def cell(self, row: int, column: int) -> TableCell:
        value = self.rows[row][column]
        return TableCell(value) if isinstance(value, str) else value

    def texts(self) -> list[list[str]]:
        """The rows as the terminal shows them: every cell's text."""
        return [[self.cell(r, c).text for c in range(len(row))] for r, row in enumerate(self.rows)]

    def right(self) -> set[int]:
        return {i for i, c in enumerate(self.columns) if c.numeric}

    def min_widths(self) -> list[int]:
        return [c.min_width for c in self.columns]

    def style_of(self, row: int, column: int) -> str | None:
        """The cell's style name (``style_of`` of :func:`~faultkit.report.rich_view.show_table`)."""
        return self.cell(row, column).style

    def lines(self, *, indent: str = "", paint: Paint | None = None) -> list[str]:
        """The table as :func:`text_table` lines."""
        return text_table(
            self.texts(),
            header=self.header,
            right=self.right(),
            min_widths=self.min_widths(),
            indent=indent,
            paint=paint,
        )


MARKER = "fk-table"
"""The CSS class every table :func:`html_table` draws carries (beside its ``kind``)."""

CSS = (
    f"table.{MARKER} td.num,table.{MARKER} th.num{{text-align:right}}"
    f"table.{MARKER} .note{{display:block;font-size:12px;font-style:normal;color:#546e7a}}"
)
"""What :func:`html_table`'s own classes need; a page adds it to its style sheet."""


def html_table(table: Table) -> str:
    """``table`` as an HTML ``<table>`` (or a ``<p>`` saying ``table.empty`` when it has no
    rows). Every text is escaped here and nowhere else; a numeric column's cells get the
    class ``num`` (right-aligned by :data:`CSS`), a cell's style its class."""
    if not table.rows:
        return f'<p class="muted {MARKER}-empty">{escape(table.empty)}</p>'
    heads = "".join(_head(c) for c in table.columns)
    body = []
    for r, row in enumerate(table.rows):
        cells = []
        for c in range(len(row)):
            tag = "th" if table.row_headers and c == 0 else "td"
            column = table.columns[c] if c < len(table.columns) else Column("")
            cells.append(_cell(tag, table.cell(r, c), column))
        body.append(f"<tr>{''.join(cells)}</tr>")
    kind = f" {escape(table.kind)}" if table.kind else ""
    return (
        f'<table class="{MARKER}{kind}"><thead><tr>{heads}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _head(column: Column) -> str:
    note = f'<span class="note">{escape(column.note)}</span>' if column.note else ""
    return f"<th{_classes('num' if column.numeric else None)}>{escape(column.name)}{note}</th>"


def _cell(tag: str, cell: TableCell, column: Column) -> str:
    text = escape(cell.text)
    if column.code and text:
        text = f"<code>{text}</code>"
    if cell.link:
        text = f'<a href="#{escape(cell.link)}">{text}</a>'
    if cell.note:
        text += f'<span class="note">{escape(cell.note)}</span>'
    title = f' title="{escape(cell.tip)}"' if cell.tip else ""
    classes = _classes(cell.style, "num" if column.numeric else None)
    return f"<{tag}{classes}{title}>{text}</{tag}>"


def _classes(*names: str | None) -> str:
    given = " ".join(escape(n) for n in names if n)
    return f' class="{given}"' if given else ""
