"""Per-scenario latency plots as inline SVG: one lane per (target, case) on the ledger's clock.

Each lane shows the call as a whole (a bar from its start to its answer, green when the verdict
is controlled, red when not, grey-blue when no fault fired, brown for a harness problem) and
every exchange it made above it (from arrival to the end of the response: grey when clean,
amber when a fault was applied, red when it failed). The
scenario's deadline is a dashed line. Hovering an element shows its details (SVG ``<title>``).
No script, no external resources: the page stays self-contained.
"""

from __future__ import annotations

import math
from html import escape

from faultkit.oracle.facts import failed, failure_reason
from faultkit.runner.model import Cell

WIDTH = 760
LABEL_W = 150
LANE_H = 38
TOP = 8
AXIS_H = 26
COLORS = {
    "controlled": "#2e7d32",
    "uncontrolled": "#c62828",
    "not_exercised": "#90a4ae",
    "harness_error": "#6d4c41",
    "clean": "#90a4ae",
    "faulted": "#f9a825",
    "failed": "#e53935",
    "deadline": "#6a1b9a",
}


def _nice_step(span: float) -> float:
    raw = span / 6 if span > 0 else 1
    magnitude = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        if raw <= mult * magnitude:
            return mult * magnitude
    return 10 * magnitude


def _fmt_ms(ms: float) -> str:
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:g} ms"


def latency_plot(cells: list[Cell], deadline_ms: float | None = None) -> str:
    """The SVG (a string) for the cells of one scenario."""
    ends: list[float] = [deadline_ms or 0.0]
    for cell in cells:
        ends.append(cell.started_ms + cell.result.duration_ms)
        ends.extend(e.end_ms or e.arrival_ms for e in cell.ledger)
    span = max(ends) * 1.04 or 1.0
    plot_w = WIDTH - LABEL_W - 12
    height = TOP + LANE_H * len(cells) + AXIS_H

    def x(ms: float) -> float:
        return LABEL_W + max(0.0, min(ms, span)) / span * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="latency" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="latency plot">'
    ]
    for lane, cell in enumerate(cells):
        y = TOP + lane * LANE_H
        label = f"{cell.target} [{cell.case}]"
        parts.append(f'<text x="4" y="{y + 22}" class="lane">{escape(label)}</text>')
        start = cell.started_ms
        end = start + cell.result.duration_ms
        color = COLORS[cell.category]
        status = "timed out" if cell.result.timed_out else _fmt_ms(round(cell.result.duration_ms))
        parts.append(
            f'<rect x="{x(start):.1f}" y="{y + 26}" width="{max(1.5, x(end) - x(start)):.1f}" '
            f'height="6" rx="2" fill="{color}"><title>{escape(cell.target)}: '
            f"{escape(cell.verdict.kind)} after {escape(status)}</title></rect>"
        )
        for entry in cell.ledger:
            stop = entry.end_ms if entry.end_ms is not None else end
            kind = "failed" if failed(entry) else ("faulted" if entry.faults else "clean")
            faults = ", ".join(f.type for f in entry.faults) or "none"
            why = failure_reason(entry) or entry.ending
            tip = (
                f"#{entry.id} {entry.route} {entry.model or entry.method} "
                f"attempt {entry.attempt}: {entry.status or '-'} {why}; faults: {faults}; "
                f"{_fmt_ms(round(entry.arrival_ms))} to {_fmt_ms(round(stop))}"
            )
            parts.append(
                f'<rect x="{x(entry.arrival_ms):.1f}" y="{y + 8}" '
                f'width="{max(2.0, x(stop) - x(entry.arrival_ms)):.1f}" height="14" rx="2" '
                f'fill="{COLORS[kind]}" stroke="#37474f" stroke-width="0.5">'
                f"<title>{escape(tip)}</title></rect>"
            )
    axis_y = TOP + LANE_H * len(cells) + 4
    parts.append(
        f'<line x1="{LABEL_W}" y1="{axis_y}" x2="{LABEL_W + plot_w}" y2="{axis_y}" '
        'stroke="#555" stroke-width="1"/>'
    )
    step = _nice_step(span)
    tick = 0.0
    while tick <= span:
        tx = x(tick)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{axis_y}" x2="{tx:.1f}" y2="{axis_y + 4}" stroke="#555"/>'
            f'<text x="{tx:.1f}" y="{axis_y + 16}" class="tick">{_fmt_ms(round(tick, 3))}</text>'
        )
        tick += step
    if deadline_ms is not None:
        dx = x(deadline_ms)
        parts.append(
            f'<line x1="{dx:.1f}" y1="{TOP - 4}" x2="{dx:.1f}" y2="{axis_y}" '
            f'stroke="{COLORS["deadline"]}" stroke-dasharray="4 3" stroke-width="1.5">'
            f"<title>deadline {_fmt_ms(deadline_ms)}</title></line>"
        )
    parts.append("</svg>")
    return "".join(parts)
