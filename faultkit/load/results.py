"""What one load run measured, read back from the files the Locust subprocess wrote.

The Locust side (:mod:`.locust_worker`) writes encoded HdrHistograms; this module decodes and
summarizes them in faultkit's own process (no gevent here), next to Locust's own figures
computed from its ``--json-file`` the way Locust computes them (its ~2-digit buckets), so the
report can show both and the difference is visible rather than asserted.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from faultkit.errors import FaultkitError

from . import histogram as hist
from .histogram import LatencySummary

Kind = Literal["direct", "baseline", "scenario"]

#: Lines the Locust side prints to report progress (JSON after the prefix).
PROGRESS_PREFIX = "FAULTKIT-PROGRESS "


class LoadRunError(FaultkitError):
    """A load run produced no usable result (Locust failed to start, crashed, or timed out)."""


class LocustFigures(BaseModel):
    """Locust's own view: bucketed response times of requests actually sent."""

    requests: int = 0
    failures: int = 0
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p99_9_ms: float | None = None
    max_ms: float | None = None


class Injected(BaseModel):
    """What the proxy injected in one run: a fault type on one upstream, on ``count`` exchanges
    (from its ledger)."""

    upstream: str
    fault: str
    count: int


class AnswerSplit(BaseModel):
    """The app's answers in one run, judged one by one with the contract ``faultkit run`` uses.

    ``controlled``: pass, or an explicit declared error; ``uncontrolled``: a crash (5xx, no
    HTTP answer), a hang (in flight at the end, or past the deadline), an invalid or drifted
    body returned as success, an untraceable answer. ``unjudged`` answers were past the
    distinct-answer cap or too large to keep, and count as neither."""

    total: int = 0
    controlled: int = 0
    uncontrolled: int = 0
    unjudged: int = 0
    verdicts: dict[str, int] = Field(default_factory=dict, description="Verdict kind -> count.")
    examples: dict[str, str] = Field(
        default_factory=dict, description="Verdict kind -> why, for one answer of that kind."
    )

    @property
    def judged(self) -> int:
        return self.controlled + self.uncontrolled

    def share(self, which: str) -> float | None:
        """``controlled`` or ``uncontrolled`` over the judged answers (None: none judged)."""
        if not self.judged:
            return None
        return (self.controlled if which == "controlled" else self.uncontrolled) / self.judged


class TimePoint(BaseModel):
    """One second of the run (by intended start), for the latency-over-time plot."""

    t_s: float
    requests: int
    failures: int
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    raw_p99_ms: float | None


class PhaseResult(BaseModel):
    """One run: ``direct`` (no proxy), ``baseline`` (proxy, no faults) or a scenario."""

    phase: str
    kind: Kind
    host: str = Field(description="What Locust loaded: the proxy's door, or the target.")
    complete: bool = True
    duration_s: float = 0.0
    requests: int = 0
    failures: int = 0
    error_rate: float = 0.0
    rps: float = 0.0
    raw: LatencySummary = Field(default_factory=LatencySummary)
    corrected: LatencySummary = Field(default_factory=LatencySummary)
    correction: str = "none"
    counts: dict[str, int] = Field(default_factory=dict)
    locust: LocustFigures | None = None
    faults_applied: int | None = Field(None, description="Requests the proxy put a fault on.")
    injected: list[Injected] = Field(
        default_factory=list, description="Faults x upstream x count, from the proxy's ledger."
    )
    errors: dict[str, int] = Field(
        default_factory=dict,
        description="Failed requests by what they were: 'HTTP 503', 'ConnectionRefusedError', "
        "'timeout (in flight at end)'.",
    )
    answers: AnswerSplit | None = None
    answer_keys: dict[str, int] = Field(
        default_factory=dict, exclude=True, description="Raw answer keys, judged by the runner."
    )
    workers: dict[str, int] = Field(
        default_factory=dict, description="Requests each Locust worker reported."
    )
    timeline: list[TimePoint] = Field(default_factory=list)
    spectrum: dict[str, list[tuple[float, float]]] = Field(default_factory=dict)
    histograms: dict[str, str] = Field(
        default_factory=dict, description="Encoded HdrHistograms (µs), for re-analysis."
    )

    @property
    def answered(self) -> int:
        """Requests that got an HTTP answer (any status); 0 on a dead target."""
        return self.counts.get("answered", self.requests - self.failures)

    def percentile_ms(self, percentile: float, view: str = "corrected") -> float | None:
        """Any percentile, from the stored histogram (the summary holds only the usual ones)."""
        encoded = self.histograms.get(view)
        if encoded:
            return hist.percentile_ms(hist.decode(encoded), percentile)
        summary = self.raw if view == "raw" else self.corrected
        return summary.percentile(percentile)


def locust_percentile(buckets: dict[float, int], total: int, fraction: float) -> float | None:
    """A percentile the way Locust computes it: walk the buckets from the top and return the
    bucket value where the remaining count drops to ``total * fraction``."""
    if total == 0 or not buckets:
        return None
    keep = int(total * fraction)
    seen = 0
    for value in sorted(buckets, reverse=True):
        seen += buckets[value]
        if total - seen <= keep:
            return float(value)
    return 0.0


def read_locust_json(path: Path) -> LocustFigures | None:
    """Locust's ``--json-file`` output (a list of per-endpoint entries), aggregated."""
    if not path.is_file():
        return None
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    buckets: dict[float, int] = {}
    requests = failures = 0
    top: float | None = None
    for entry in entries if isinstance(entries, list) else []:
        requests += int(entry.get("num_requests", 0))
        failures += int(entry.get("num_failures", 0))
        for key, count in (entry.get("response_times") or {}).items():
            buckets[float(key)] = buckets.get(float(key), 0) + int(count)
        if entry.get("max_response_time") is not None:
            top = max(top or 0.0, float(entry["max_response_time"]))
    return LocustFigures(
        requests=requests,
        failures=failures,
        p50_ms=locust_percentile(buckets, requests, 0.5),
        p95_ms=locust_percentile(buckets, requests, 0.95),
        p99_ms=locust_percentile(buckets, requests, 0.99),
        p99_9_ms=locust_percentile(buckets, requests, 0.999),
        max_ms=top,
    )


def _correction(data: dict[str, Any]) -> str:
    counts = data.get("counts", {})
    parts = []
    if counts.get("open_loop"):
        parts.append("open-loop (latency from intended start)")
    if counts.get("paced"):
        intervals = ", ".join(f"{v:g} ms" for v in data.get("intervals_ms", []))
        parts.append(f"expected interval {intervals}")
    if counts.get("uncorrected"):
        parts.append(f"{counts['uncorrected']} closed-loop requests NOT corrected (no known pace)")
    return "; ".join(parts) or "none"


def _timeline(data: dict[str, Any], started: float | None) -> list[TimePoint]:
    windows = data.get("windows") or {}
    if not windows:
        return []
    origin = math.floor(started) if started is not None else min(int(k) for k in windows)
    points = []
    for key in sorted(windows, key=float):
        w = windows[key]
        corrected = hist.decode(w["corrected"])
        raw = hist.decode(w["raw"])
        points.append(
            TimePoint(
                t_s=round(float(key) - origin, 3),
                requests=int(w["requests"]),
                failures=int(w["failures"]),
                p50_ms=hist.percentile_ms(corrected, 50),
                p99_ms=hist.percentile_ms(corrected, 99),
                max_ms=corrected.get_max_value() / 1000.0 if corrected.get_total_count() else None,
                raw_p99_ms=hist.percentile_ms(raw, 99),
            )
        )
    return points


def read_result(
    path: Path, *, phase: str, kind: Kind, host: str, locust_json: Path | None = None
) -> PhaseResult:
    """Decode the result file of one run; raises :class:`LoadRunError` when it is missing."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LoadRunError(f"{phase}: Locust wrote no result ({path.name} missing)") from None
    except (OSError, ValueError) as exc:
        raise LoadRunError(f"{phase}: unreadable result {path}: {exc}") from None
    raw = hist.merge([data.get("raw", "")])
    corrected = hist.merge([data.get("corrected", "")])
    counts = {k: int(v) for k, v in data.get("counts", {}).items()}
    requests = counts.get("requests", 0)
    failures = counts.get("failures", 0)
    first, last = data.get("first_start"), data.get("last_end")
    duration = max(float(last) - float(first), 1e-3) if first and last else 0.0
    return PhaseResult(
        phase=phase,
        kind=kind,
        host=host,
        complete=bool(data.get("complete")),
        duration_s=round(duration, 3),
        requests=requests,
        failures=failures,
        error_rate=failures / requests if requests else 0.0,
        rps=round(requests / duration, 2) if duration else 0.0,
        raw=hist.summarize(raw),
        corrected=hist.summarize(corrected),
        correction=_correction(data),
        counts=counts,
        locust=read_locust_json(locust_json) if locust_json else None,
        workers={k: int(v.get("requests", 0)) for k, v in (data.get("workers") or {}).items()},
        errors={k: int(v) for k, v in sorted((data.get("errors") or {}).items())},
        answer_keys={k: int(v) for k, v in (data.get("answers") or {}).items()},
        timeline=_timeline(data, data.get("started_at")),
        spectrum={"raw": hist.spectrum(raw), "corrected": hist.spectrum(corrected)},
        histograms={
            "raw": hist.encode(raw) if raw.get_total_count() else "",
            "corrected": hist.encode(corrected) if corrected.get_total_count() else "",
        },
    )
