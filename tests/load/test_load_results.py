"""Reading what the Locust subprocess wrote: exact figures next to Locust's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faultkit.load import histogram as hist
from faultkit.load.results import LoadRunError, locust_percentile, read_locust_json, read_result


def test_locust_percentile_walks_buckets_from_the_top_like_locust() -> None:
    buckets = {1.0: 985, 2.0: 10, 1000.0: 5}
    assert locust_percentile(buckets, 1000, 0.99) == 2.0  # 5 slow of 1000 vanish from p99
    assert locust_percentile(buckets, 1000, 0.995) == 1000.0
    assert locust_percentile(buckets, 1000, 0.999) == 1000.0
    assert locust_percentile({}, 0, 0.99) is None


def test_read_locust_json_aggregates_endpoints(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text(
        json.dumps(
            [
                {
                    "name": "/a",
                    "num_requests": 90,
                    "num_failures": 1,
                    "response_times": {"1": 90},
                    "max_response_time": 1.4,
                },
                {
                    "name": "/b",
                    "num_requests": 10,
                    "num_failures": 0,
                    "response_times": {"1": 8, "2000": 2},
                    "max_response_time": 1996.0,
                },
            ]
        )
    )
    figures = read_locust_json(path)
    assert figures is not None
    assert (figures.requests, figures.failures) == (100, 1)
    assert figures.p50_ms == 1.0 and figures.p99_ms == 2000.0 and figures.max_ms == 1996.0
    assert read_locust_json(tmp_path / "missing.json") is None


def _window(values: list[float]) -> dict[str, object]:
    h = hist.new_histogram(hist.WINDOW_DIGITS)
    for v in values:
        hist.record(h, v)
    encoded = hist.encode(h)
    return {"requests": len(values), "failures": 0, "raw": encoded, "corrected": encoded}


def test_read_result(tmp_path: Path) -> None:
    raw, corrected = hist.new_histogram(), hist.new_histogram()
    for _ in range(98):
        hist.record(raw, 2.0)
        hist.record(corrected, 2.0)
    for _ in range(2):
        hist.record(raw, 5.0)
        hist.record(corrected, 900.0, expected_interval_ms=100.0)  # 9 values
    data = {
        "version": 1,
        "complete": True,
        "started_at": 1000.6,
        "first_start": 1000.7,
        "last_end": 1010.7,
        "counts": {"requests": 100, "failures": 3, "paced": 100, "open_loop": 0},
        "intervals_ms": [100.0],
        "raw": hist.encode(raw),
        "corrected": hist.encode(corrected),
        "windows": {"1000": _window([2.0, 3.0]), "1001": _window([900.0])},
        "workers": {"w1": {"requests": 60}, "w2": {"requests": 40}},
    }
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data))
    result = read_result(path, phase="slow", kind="scenario", host="http://127.0.0.1:9")
    assert result.requests == 100 and result.failures == 3
    assert result.error_rate == pytest.approx(0.03)
    assert result.duration_s == pytest.approx(10.0) and result.rps == pytest.approx(10.0)
    assert result.raw.count == 100 and result.corrected.count == 116
    assert result.corrected.max_ms == pytest.approx(900, rel=0.001)
    assert result.raw.p99_ms == pytest.approx(5, rel=0.001)
    assert result.correction == "expected interval 100 ms"
    assert result.workers == {"w1": 60, "w2": 40}
    assert [p.t_s for p in result.timeline] == [0, 1]  # from the start second
    assert result.timeline[1].p99_ms == pytest.approx(900, rel=0.01)
    assert result.percentile_ms(75, "corrected") == pytest.approx(2, rel=0.001)


def test_missing_result_is_a_load_run_error(tmp_path: Path) -> None:
    with pytest.raises(LoadRunError, match="wrote no result"):
        read_result(tmp_path / "nope.json", phase="baseline", kind="baseline", host="h")
