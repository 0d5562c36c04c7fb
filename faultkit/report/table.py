"""Text tables for the terminal: one renderer for the CLI, the pytest plugin and the reports.

``faultkit scenarios list``, the plugin's "faults injected" summary, the verdict matrix of
``faultkit run`` and the latency tables of ``faultkit load`` are all columns of short strings.
Each had its own padding loop; they now share :func:`text_table` and the one colour rule,
:func:`use_color`.

Plain ASCII with ANSI colour only on a terminal (never when piped, never with ``NO_COLOR``
set, https://no-color.org). This is the output for pipes, files and tests, and the README
quotes it, so it is the same on every install; on a terminal with rich installed,
:mod:`faultkit.report.rich_view` draws the same rows with rich instead (and falls back to
this renderer everywhere else).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Sequence
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
