"""A cell's ledger as a table that fits a normal terminal or page (80-120 columns).

Why: a ledger row holds a URL (with query strings, MCP session paths, Gemini's
``models/...:streamGenerateContent?alt=sse``), the faults' rules and a failure reason with an
SDK's error text; printed whole, one row runs to 300 columns and a terminal wraps it into
noise. Here each row says the same things in a fixed budget: the URL loses its scheme and
host (the route beside it names the upstream), then its middle (``/v1/very...long/path``), never its
start or end; the last column wraps under itself. The full values stay in ``report.json``
(and in the HTML page's ``title`` attributes), so nothing is lost, only shortened for the eye.
The rows are built once (:func:`ledger_table`) for the terminal and for report.html.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from urllib.parse import urlsplit

from faultkit.ledger import LedgerEntry, failure_reason
from faultkit.report.table import Column, Table, TableCell, text_table

__all__ = [
    "COLUMNS",
    "ELLIPSIS",
    "abbreviate",
    "ledger_lines",
    "ledger_table",
    "request_text",
    "wrap",
]

ELLIPSIS = "..."  # ASCII: the terminal report prints on any console encoding
NAMES = ("#", "call", "status", "ending", "ms", "route", "request", "model", "faults", "failure")
COLUMNS = tuple(Column(name) for name in NAMES)
"""The ledger's columns, for report.html and the terminal. The terminal has room for the
first five padded, then the route and request in what is left of the line, then the faults
and failure wrapped under the row; the model only the page has room for (report.json has
everything)."""
PADDED = 5
MIN_REQUEST = 24  # narrower, a path says too little: the line may then pass ``width``
_AT = {name: i for i, name in enumerate(NAMES)}


def abbreviate(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters: its start and end kept, the middle replaced
    by ``...`` (a path's first segments say which API, its last which resource)."""
    if len(text) <= width:
        return text
    if width <= len(ELLIPSIS):
        return text[:width]
    keep = width - len(ELLIPSIS)
    head = (keep + 1) // 2
    return text[:head] + ELLIPSIS + text[len(text) - (keep - head) :]


def request_text(entry: LedgerEntry) -> str:
    """``POST /v1/chat/completions``: the method and the URL's path and query. The scheme and
    host are left out: the route beside it names the upstream (report.json has the URL)."""
    parts = urlsplit(entry.url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return f"{entry.method} {path}"


def _ms(entry: LedgerEntry) -> str:
    start = f"{entry.arrival_ms:.0f}"
    return f"{start}-{entry.end_ms:.0f}" if entry.end_ms is not None else f"{start}-"


def ledger_table(entries: Sequence[LedgerEntry], request_chars: int | None = None) -> Table:
    """One row per exchange (:data:`COLUMNS`); the request with its full URL as its tip, and
    shortened to ``request_chars`` (:func:`abbreviate`) when given."""
    rows = []
    for e in entries:
        request = request_text(e)
        if request_chars is not None:
            request = abbreviate(request, request_chars)
        rows.append(
            [
                f"#{e.id}",
                f"{e.logical_call}.{e.attempt}",
                str(e.status or "-"),
                e.ending,
                _ms(e),
                e.route,
                TableCell(request, tip=e.url),
                e.model or "",
                ", ".join(f"{f.type} ({f.rule})" for f in e.faults),
                failure_reason(e) or "",
            ]
        )
    return Table(COLUMNS, rows, kind="ledger", empty="No exchanges.")


def wrap(text: str, width: int, indent: str) -> list[str]:
    """``text`` wrapped to ``width`` columns, every line under ``indent``; a word longer than
    a line (a URL, a body) is broken rather than left to overflow."""
    return textwrap.wrap(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=True,
        break_on_hyphens=False,
    )


def ledger_lines(
    entries: Sequence[LedgerEntry], width: int = 100, indent: str = "    "
) -> list[str]:
    """The ledger in ``width`` columns: one line per exchange (id, call.attempt, status,
    ending, ms, then the route and request in what is left, abbreviated in the middle) and,
    under it, its faults and failure, wrapped."""
    if not entries:
        return [f"{indent}(no exchanges)"]
    rows = ledger_table(entries).texts()
    header = [*NAMES[:PADDED], "request"]
    # The padded columns as text_table pads them (a placeholder last cell keeps the ms column
    # padded), then the route and request in what is left of the line.
    lines = text_table([[*row[:PADDED], "-"] for row in rows], header=header, indent=indent)
    start = len(lines[0]) - len(header[-1])
    request_width = max(MIN_REQUEST, width - start)
    out = [lines[0]]
    for line, row in zip(lines[1:], rows, strict=True):
        request = f"{row[_AT['route']]} {row[_AT['request']]}"
        out.append(line[:start] + abbreviate(request, request_width))
        detail = "; ".join(x for x in (row[_AT["faults"]], row[_AT["failure"]]) if x)
        if detail:
            out.extend(wrap(detail, width, indent + " " * (len(row[0]) + 2)))
    return out
