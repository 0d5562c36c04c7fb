"""Colour tables and progress bars with rich, on a terminal only.

Why a second rendering beside :mod:`faultkit.report.table`: on a terminal a person reads the
verdict matrix and watches a long run, and rich's boxed, coloured table and live bars read
better than padded ASCII and a scroll of progress lines. Piped output (a CI log, a script, a
test, the README's examples) must stay exactly the plain text, so the choice is made in one
place, :func:`console_for`: rich only when the stream is a TTY, ``NO_COLOR`` is not set
(:func:`~faultkit.report.table.use_color`, the one colour rule) and rich is installed
(``pip install 'faultkit[rich]'``). Everything else gets ``text_table``'s lines, byte for byte
what it printed before.

Cells are coloured by *style names* (:data:`STYLES`: ``ok``, ``bad``, ``fail``,
``unfired``), so the matrix says what a cell is once and both renderings paint it their way.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING, Any, TextIO

from faultkit.report.table import (
    BOLD,
    GREEN,
    RED,
    RESET,
    YELLOW,
    Paint,
    Table,
    text_table,
    use_color,
)

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "STYLES",
    "Bar",
    "StyleOf",
    "console_for",
    "painter",
    "progress_bar",
    "rich_table",
    "show",
    "show_table",
]

#: Style name -> (ANSI codes for the plain table on a terminal, rich style).
STYLES: dict[str, tuple[str, str]] = {
    "ok": (GREEN, "green"),
    "bad": (RED, "red"),
    "fail": (BOLD + RED, "bold red"),
    "unfired": (YELLOW, "yellow"),
}

StyleOf = Callable[[int, int], str | None]
"""``style_of(row, column)`` -> a :data:`STYLES` name or None; rows count from 0 (data rows).
Any other name (a CSS class only the HTML page colours) is left unpainted."""


def console_for(stream: TextIO) -> Console | None:
    """A rich Console writing to ``stream`` when rich should draw there (a terminal, colour
    allowed, rich installed); otherwise None and the caller prints plain text."""
    if not use_color(stream):
        return None
    try:
        from rich.console import Console
    except ImportError:
        return None
    return Console(file=stream, highlight=False, soft_wrap=False)


def show_table(
    stream: TextIO,
    rows: Sequence[Sequence[str]],
    *,
    header: Sequence[str],
    right: Collection[int] = (),
    min_widths: Sequence[int] = (),
    indent: str = "",
    style_of: StyleOf | None = None,
    console: Console | None = None,
) -> None:
    """Print a table on ``stream``: rich's on a terminal (:func:`console_for`), else the
    plain :func:`~faultkit.report.table.text_table` lines (ANSI-painted by ``style_of`` when
    :func:`~faultkit.report.table.use_color` allows it, which without rich is a terminal)."""
    console = console or console_for(stream)
    if console is not None:
        console.print(rich_table(rows, header=header, right=right, style_of=style_of))
        return
    paint = painter(style_of) if style_of is not None and use_color(stream) else None
    lines = text_table(
        rows, header=header, right=right, min_widths=min_widths, indent=indent, paint=paint
    )
    for line in lines:
        print(line, file=stream)


def show(stream: TextIO, table: Table, *, indent: str = "") -> None:
    """Print a :class:`~faultkit.report.table.Table` as :func:`show_table` does."""
    show_table(
        stream,
        table.texts(),
        header=table.header,
        right=table.right(),
        min_widths=table.min_widths(),
        indent=indent,
        style_of=table.style_of,
    )


def painter(style_of: StyleOf) -> Paint:
    """``text_table``'s ``paint`` for :data:`STYLES` names: ANSI codes around a cell."""

    def paint(row: int, column: int, padded: str) -> str:
        name = style_of(row, column)
        return f"{STYLES[name][0]}{padded}{RESET}" if name in STYLES else padded

    return paint


def rich_table(
    rows: Sequence[Sequence[str]],
    *,
    header: Sequence[str],
    right: Collection[int] = (),
    style_of: StyleOf | None = None,
) -> Any:
    """The same table as a ``rich.table.Table`` (rich must be installed)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(header_style="bold")
    for i, name in enumerate(header):
        table.add_column(name, justify="right" if i in right else "left", overflow="fold")
    for n, row in enumerate(rows):
        cells = []
        for i, cell in enumerate(row):
            name = style_of(n, i) if style_of is not None else None
            cells.append(Text(cell, style=STYLES[name][1] if name in STYLES else ""))
        table.add_row(*cells)
    return table


class Bar:
    """One rich progress bar (a task) on a live display; ``advance`` is thread-safe (the
    run's cells finish on worker threads). ``note`` prints a line above the bar, so the
    lines a run would have printed are not lost, only no longer a scroll of progress."""

    def __init__(self, console: Console, label: str | None, total: float | None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._lock = threading.Lock()
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"),
            console=console,
            transient=False,
            refresh_per_second=4,  # a shared 2-core machine: redraws cost the run CPU
            # Lines printed meanwhile go above the bar only from the stream it draws on: the
            # app's stdout must stay stdout when the bar is on stderr.
            redirect_stdout=console.file is sys.stdout,
            redirect_stderr=console.file is sys.stderr,
        )
        self.progress.start()
        self.task = None if label is None else self.progress.add_task(label, total=total, status="")

    def advance(self, status: str = "", *, by: float = 1, total: float | None = None) -> None:
        with self._lock:
            if self.task is None:
                return
            if total is not None:
                self.progress.update(self.task, total=total)
            self.progress.update(self.task, advance=by, status=status)

    def update(self, *, completed: float, status: str = "", description: str | None = None) -> None:
        with self._lock:
            fields: dict[str, Any] = {"completed": completed, "status": status}
            if description is not None:
                fields["description"] = description
            self.progress.update(self.task, **fields)

    def restart(self, label: str, total: float | None) -> None:
        """A new task under the finished ones (the next load phase)."""
        with self._lock:
            self.task = self.progress.add_task(label, total=total, status="")

    def note(self, text: str) -> None:
        with self._lock:
            self.progress.console.print(text, highlight=False, markup=False)

    def close(self) -> None:
        with self._lock:
            self.progress.stop()


def progress_bar(stream: TextIO, label: str | None, total: float | None = None) -> Bar | None:
    """A progress bar on ``stream`` when rich draws there (:func:`console_for`), else None:
    the caller then prints its progress lines as before. ``label`` None: no bar until the
    first :meth:`Bar.restart` (one bar per load phase)."""
    console = console_for(stream)
    return Bar(console, label, total) if console is not None else None
