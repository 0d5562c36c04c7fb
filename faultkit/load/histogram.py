"""Exact latency histograms and the coordinated-omission correction.

Locust rounds every response time into ~2-significant-digit buckets and, being closed-loop,
never sends the requests a stalled server kept it from sending, so its tail hides stalls
(``../shared/reference/vcrpy-and-locust.md`` §4.5, §4.7). faultkit keeps its own histograms:

- **µs resolution, 3 significant digits** (HdrHistogram: every value is stored within 0.1%,
  from 1 µs to 1 hour), so p99 of a 1.2 ms service is not "1" and p99 > max cannot happen;
- two views of every request:

  ``raw``
      the service time: from the moment the request was issued to its last byte (what Locust
      measures, unrounded);
  ``corrected``
      the latency a user arriving on schedule would have seen. For an *open-loop* user (one
      that schedules arrivals at a fixed rate: :class:`~faultkit.load.locust_worker.OpenLoopUser`)
      it is measured from the intended start time, so time spent waiting behind a stall counts.
      For a *closed-loop* user with a known pacing interval (``constant_pacing``,
      ``constant_throughput``, or ``--expected-interval``), each long sample is back-filled
      with the samples it hid (``L - i, L - 2i, ...``: HdrHistogram's
      ``recordValueWithExpectedInterval``). A closed-loop request with no known interval is
      recorded as is (and counted, so the report can say it was not corrected).

Gates use ``corrected`` unless told otherwise (``raw.p99<...``).

Both the Locust subprocess (:mod:`.locust_worker`) and faultkit's own process use this module;
it imports nothing but ``hdrh`` and pydantic, so it is safe on either side of the gevent line.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable

from hdrh.histogram import HdrHistogram
from pydantic import BaseModel

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour; longer values are clamped (and counted as such)
DIGITS = 3  # whole-run histograms: every value within 0.1%
WINDOW_DIGITS = 2  # per-second windows for the latency-over-time plot: within 1%

PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)


def new_histogram(digits: int = DIGITS) -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, digits)


def to_us(ms: float) -> int:
    """A latency in ms as whole µs, clamped into the histogram's range."""
    return min(max(round(ms * 1000.0), LOWEST_US), HIGHEST_US)


def record(histogram: HdrHistogram, value_ms: float, expected_interval_ms: float = 0.0) -> int:
    """Record one latency; with an expected interval, also the samples it hid.

    Returns how many values were recorded (1 + back-filled ones).
    """
    value = to_us(value_ms)
    interval = to_us(expected_interval_ms) if expected_interval_ms > 0 else 0
    before = histogram.get_total_count()
    if interval:
        histogram.record_corrected_value(value, interval)
    else:
        histogram.record_value(value)
    return histogram.get_total_count() - before


def encode(histogram: HdrHistogram) -> str:
    """Compressed, base64 text (HdrHistogram's V2 encoding): mergeable across processes."""
    data = histogram.encode()
    return data.decode("ascii") if isinstance(data, bytes) else str(data)


def decode(text: str) -> HdrHistogram:
    # Validate first: hdrh reports bad input with assertion errors deep inside.
    base64.b64decode(text, validate=True)
    return HdrHistogram.decode(text.encode("ascii"))


def merge(encoded: Iterable[str], digits: int = DIGITS) -> HdrHistogram:
    """One histogram holding every value of ``encoded`` (lossless for equal settings)."""
    total = new_histogram(digits)
    for text in encoded:
        if text:
            total.add(decode(text))
    return total


def percentile_ms(histogram: HdrHistogram, percentile: float) -> float | None:
    if histogram.get_total_count() == 0:
        return None
    return histogram.get_value_at_percentile(percentile) / 1000.0


class LatencySummary(BaseModel):
    """Percentiles of one view (raw or corrected) of one run, in ms; None when empty."""

    count: int = 0
    p50_ms: float | None = None
    p90_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p99_9_ms: float | None = None
    max_ms: float | None = None
    mean_ms: float | None = None

    def percentile(self, value: float) -> float | None:
        """A reported percentile by number (50, 99, 99.9, 100 = max)."""
        if value >= 100:
            return self.max_ms
        name = f"p{value:g}".replace(".", "_") + "_ms"
        return getattr(self, name, None)


def summarize(histogram: HdrHistogram) -> LatencySummary:
    count = histogram.get_total_count()
    if count == 0:
        return LatencySummary()
    values = {
        f"p{p:g}".replace(".", "_") + "_ms": histogram.get_value_at_percentile(p) / 1000.0
        for p in PERCENTILES
    }
    return LatencySummary(
        count=count,
        max_ms=histogram.get_max_value() / 1000.0,
        mean_ms=round(histogram.get_mean_value() / 1000.0, 3),
        **values,
    )


def spectrum(histogram: HdrHistogram, max_nines: int = 5) -> list[tuple[float, float]]:
    """(percentile, latency ms) points for a percentile-distribution plot: dense towards the
    tail (log scale in ``1 / (1 - q)``), up to ``max_nines`` nines or the last sample."""
    count = histogram.get_total_count()
    if count == 0:
        return []
    limit = min(max_nines, math.log10(count)) if count > 1 else 0
    points: list[tuple[float, float]] = []
    steps = max(int(limit * 20), 1)
    for i in range(steps + 1):
        q = 100.0 * (1.0 - 10.0 ** (-limit * i / steps))
        points.append((q, histogram.get_value_at_percentile(q) / 1000.0))
    points.append((100.0, histogram.get_max_value() / 1000.0))
    return points
