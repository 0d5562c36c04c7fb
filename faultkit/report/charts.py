"""Charts for the HTML reports of ``faultkit run`` and ``faultkit load``, as inline SVG.

Both pages are one self-contained file (no script, nothing fetched), so a chart is a string of
SVG built here from plain values; the reports decide what to draw (which exchanges, which
percentiles, which colours mean what) and this module how. Two kinds:

* :func:`lane_chart` (the run report): one lane per call on the ledger's clock, the call as a
  thin bar and every exchange it made as a bar above it, an optional dashed deadline. A linear
  time axis: a run's exchanges are tens to thousands of ms, and their order matters.
* :func:`line_chart` (the load report): latency lines over time or over percentiles, on a log
  latency axis, because a fault moves the tail by orders of magnitude; a percentile axis is in
  "nines" (90%, 99%, 99.9%), where tails are read.

Shared: the SVG frame, ms/s labels (:func:`ms_label`), round tick steps, escaping. Hovering an
element shows its details (an SVG ``<title>``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape


def ms_label(ms: float) -> str:
    """``250 ms``, ``1.5 s``: milliseconds below a second, seconds from there."""
    return f"{ms / 1000:g} s" if ms >= 1000 else f"{ms:g} ms"


def nice_step(span: float, ticks: int = 6) -> float:
    """A round tick step (1, 2, 2.5 or 5 times a power of ten) giving about ``ticks`` ticks."""
    raw = span / ticks if span > 0 else 1
    magnitude = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 2.5, 5, 10):
        if raw <= mult * magnitude:
            return mult * magnitude
    return 10 * magnitude


def _svg_open(width: int, height: int, extra: str = "") -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}"{extra}>'
    )


# -- lanes (faultkit run) -------------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    """One span on the time axis, with its colour and the text shown on hover."""

    start_ms: float
    end_ms: float
    color: str
    tip: str


@dataclass(frozen=True)
class Lane:
    """A call (``call``, drawn thin under the lane) and the exchanges it made (drawn above)."""

    label: str
    call: Bar
    exchanges: Sequence[Bar] = field(default_factory=tuple)


LANE_WIDTH, LABEL_W, LANE_H, LANE_TOP, AXIS_H = 760, 150, 38, 8, 26
DEADLINE_COLOR = "#6a1b9a"


def lane_chart(lanes: Sequence[Lane], deadline_ms: float | None = None) -> str:
    """The lanes on one linear time axis from 0 to the latest end (or the deadline)."""
    ends = [deadline_ms or 0.0]
    for lane in lanes:
        ends.append(lane.call.end_ms)
        ends.extend(bar.end_ms for bar in lane.exchanges)
    span = max(ends) * 1.04 or 1.0
    plot_w = LANE_WIDTH - LABEL_W - 12
    height = LANE_TOP + LANE_H * len(lanes) + AXIS_H

    def x(ms: float) -> float:
        return LABEL_W + max(0.0, min(ms, span)) / span * plot_w

    def rect(bar: Bar, y: float, h: int, min_w: float, extra: str = "") -> str:
        return (
            f'<rect x="{x(bar.start_ms):.1f}" y="{y}" '
            f'width="{max(min_w, x(bar.end_ms) - x(bar.start_ms)):.1f}" height="{h}" rx="2" '
            f'fill="{bar.color}"{extra}><title>{escape(bar.tip)}</title></rect>'
        )

    parts = [_svg_open(LANE_WIDTH, height, ' class="latency" role="img" aria-label="latency plot"')]
    for n, lane in enumerate(lanes):
        y = LANE_TOP + n * LANE_H
        parts.append(f'<text x="4" y="{y + 22}" class="lane">{escape(lane.label)}</text>')
        parts.append(rect(lane.call, y + 26, 6, 1.5))
        stroke = ' stroke="#37474f" stroke-width="0.5"'
        parts.extend(rect(bar, y + 8, 14, 2.0, stroke) for bar in lane.exchanges)
    axis_y = LANE_TOP + LANE_H * len(lanes) + 4
    parts.append(
        f'<line x1="{LABEL_W}" y1="{axis_y}" x2="{LABEL_W + plot_w}" y2="{axis_y}" '
        'stroke="#555" stroke-width="1"/>'
    )
    step = nice_step(span)
    tick = 0.0
    while tick <= span:
        tx = x(tick)
        parts.append(
            f'<line x1="{tx:.1f}" y1="{axis_y}" x2="{tx:.1f}" y2="{axis_y + 4}" stroke="#555"/>'
            f'<text x="{tx:.1f}" y="{axis_y + 16}" class="tick">{ms_label(round(tick, 3))}</text>'
        )
        tick += step
    if deadline_ms is not None:
        dx = x(deadline_ms)
        parts.append(
            f'<line x1="{dx:.1f}" y1="{LANE_TOP - 4}" x2="{dx:.1f}" y2="{axis_y}" '
            f'stroke="{DEADLINE_COLOR}" stroke-dasharray="4 3" stroke-width="1.5">'
            f"<title>deadline {ms_label(deadline_ms)}</title></line>"
        )
    parts.append("</svg>")
    return "".join(parts)


# -- lines (faultkit load) ------------------------------------------------------------------------
@dataclass
class Series:
    label: str
    points: list[tuple[float, float]]
    color: str
    dash: str = ""  # SVG stroke-dasharray: "" solid, "5,4" dashed, "1,3" dotted


_W, _H, _L, _R, _T, _B = 820, 300, 64, 196, 16, 44


def _log(value: float) -> float:
    return math.log10(max(value, 0.001))


def _nines(percentile: float, cap: float) -> float:
    if percentile >= 100:
        return cap
    return min(-math.log10(1 - percentile / 100.0), cap)


def line_chart(series: Sequence[Series], *, x_label: str, x_nines: bool = False) -> str:
    """A line chart with a log-latency y axis (ms); x is linear (seconds), or the "nines" of a
    percentile when ``x_nines``. A chart with no points says so instead."""
    series = [s for s in series if s.points]
    if not series:
        return '<p class="empty">no data</p>'
    ys = [y for s in series for _, y in s.points if y > 0]
    y_lo = math.floor(_log(min(ys))) if ys else 0
    y_hi = math.ceil(_log(max(ys))) if ys else 1
    y_hi = max(y_hi, y_lo + 1)
    if x_nines:
        top = max(_nines(x, 9) for s in series for x, _ in s.points if x < 100) + 0.5
        xs_of = [(s, [(_nines(x, top), y) for x, y in s.points]) for s in series]
        x_lo, x_hi = 0.0, max(top, 1.0)
    else:
        xs_of = [(s, s.points) for s in series]
        all_x = [x for s in series for x, _ in s.points]
        x_lo, x_hi = min(all_x), max(max(all_x), min(all_x) + 1)
    pw, ph = _W - _L - _R, _H - _T - _B

    def px(x: float) -> float:
        return _L + (x - x_lo) / (x_hi - x_lo) * pw

    def py(y: float) -> float:
        return _T + ph - (_log(y) - y_lo) / (y_hi - y_lo) * ph

    parts = [_svg_open(_W, _H, ' font-family="sans-serif" font-size="11"')]
    parts.append(f'<rect x="{_L}" y="{_T}" width="{pw}" height="{ph}" fill="#fff" stroke="#ccc"/>')
    for e in range(y_lo, y_hi + 1):
        y = py(10.0**e)
        parts.append(f'<line x1="{_L}" x2="{_L + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>')
        parts.append(
            f'<text x="{_L - 6}" y="{y + 4:.1f}" text-anchor="end">{ms_label(10.0**e)}</text>'
        )
    if x_nines:
        ticks = [(n, f"{100 - 10 ** (2 - n):g}%") for n in range(int(x_hi) + 1)]
    else:
        step = max(1, round((x_hi - x_lo) / 8))
        ticks = [(t, f"{t:g}s") for t in range(math.ceil(x_lo), int(x_hi) + 1, step)]
    for x, label in ticks:
        parts.append(
            f'<text x="{px(x):.1f}" y="{_T + ph + 16}" text-anchor="middle">{escape(label)}</text>'
        )
    parts.append(
        f'<text x="{_L + pw / 2}" y="{_H - 6}" text-anchor="middle">{escape(x_label)}</text>'
    )
    for i, (s, points) in enumerate(xs_of):
        coords = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points if y > 0)
        dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
        parts.append(
            f'<polyline fill="none" stroke="{s.color}" stroke-width="1.6"{dash} '
            f'points="{coords}"><title>{escape(s.label)}</title></polyline>'
        )
        lx, ly = _L + pw + 12, _T + 12 + 16 * i
        parts.append(
            f'<line x1="{lx}" x2="{lx + 22}" y1="{ly - 4}" y2="{ly - 4}" '
            f'stroke="{s.color}" stroke-width="2"{dash}/>'
        )
        parts.append(f'<text x="{lx + 28}" y="{ly}">{escape(s.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)
