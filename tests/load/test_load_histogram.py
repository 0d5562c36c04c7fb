"""Exact histograms: what the percentiles and the coordinated-omission correction rest on."""

from __future__ import annotations

import pytest

from faultkit.load import histogram as hist


def test_values_are_kept_to_a_microsecond_not_rounded_to_buckets() -> None:
    h = hist.new_histogram()
    for value_ms in (0.8, 1.2, 1.3, 1.4):
        hist.record(h, value_ms)
    # Locust would call all of these "1" ms; the histogram tells them apart.
    assert hist.percentile_ms(h, 25) == pytest.approx(0.8, abs=0.001)
    assert hist.percentile_ms(h, 100) == pytest.approx(1.4, abs=0.002)


def test_expected_interval_backfills_the_samples_a_stall_hid() -> None:
    h = hist.new_histogram()
    added = hist.record(h, 1000.0, expected_interval_ms=100.0)
    # 1000, 900, ..., 100: the nine requests a paced user could not send while waiting.
    assert added == 10
    assert hist.percentile_ms(h, 50) == pytest.approx(500, rel=0.01)
    assert h.get_min_value() == pytest.approx(100_000, rel=0.001)


def test_no_interval_records_one_sample() -> None:
    h = hist.new_histogram()
    assert hist.record(h, 1000.0) == 1
    assert hist.record(h, 50.0, expected_interval_ms=100.0) == 1  # faster than the pace


def test_out_of_range_values_are_clamped_not_lost() -> None:
    h = hist.new_histogram()
    hist.record(h, 0.0)
    hist.record(h, 10 * 3_600_000.0)  # ten hours
    assert h.get_total_count() == 2
    assert hist.percentile_ms(h, 100) == pytest.approx(3_600_000, rel=0.001)


def test_encoded_histograms_merge_losslessly_across_processes() -> None:
    a, b = hist.new_histogram(), hist.new_histogram()
    for i in range(1, 501):
        hist.record(a, i * 1.0)
        hist.record(b, i * 10.0)
    merged = hist.merge([hist.encode(a), hist.encode(b), ""])
    assert merged.get_total_count() == 1000
    assert hist.percentile_ms(merged, 100) == pytest.approx(5000, rel=0.001)
    # 500 values of a and 45 of b lie below 455: the merged median is there.
    assert hist.percentile_ms(merged, 50) == pytest.approx(455, rel=0.002)


def test_decode_rejects_garbage_with_a_value_error() -> None:
    with pytest.raises(ValueError):
        hist.decode("not base64 at all!")


def test_summary_and_spectrum() -> None:
    h = hist.new_histogram()
    for i in range(1, 10_001):
        hist.record(h, i / 10.0)  # 0.1 ms .. 1000 ms, evenly
    s = hist.summarize(h)
    assert s.count == 10_000
    assert s.p50_ms == pytest.approx(500, rel=0.002)
    assert s.p99_ms == pytest.approx(990, rel=0.002)
    assert s.p99_9_ms == pytest.approx(999, rel=0.002)
    assert s.percentile(99.9) == s.p99_9_ms
    assert s.percentile(100) == s.max_ms
    points = hist.spectrum(h)
    qs = [q for q, _ in points]
    values = [v for _, v in points]
    assert qs == sorted(qs) and values == sorted(values)
    assert qs[-1] == 100.0 and values[-1] == s.max_ms
    assert hist.summarize(hist.new_histogram()).p99_ms is None
    assert hist.spectrum(hist.new_histogram()) == []
