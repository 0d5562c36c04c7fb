"""Logical calls and attempts: what the oracle counts retries with."""

from __future__ import annotations

from faultkit.ledger import Ledger


def _open(
    ledger: Ledger, body: bytes, retry: str | None = None, route: str = "openai"
) -> tuple[int, int]:
    e = ledger.open(
        route=route,
        method="POST",
        url="https://x/v1/chat/completions",
        fmt="openai_chat",
        model=None,
        body=body,
        retry_count=retry,
        arrival_ms=0.0,
    )
    return e.logical_call, e.attempt


def test_stainless_retry_count_marks_attempts() -> None:
    ledger = Ledger()
    assert _open(ledger, b"a", "0") == (1, 1)
    assert _open(ledger, b"a", "1") == (1, 2)
    assert _open(ledger, b"a", "2") == (1, 3)
    assert _open(ledger, b"b", "0") == (2, 1)


def _fail(ledger: Ledger, status: int = 500, ending: str = "completed") -> None:
    last = ledger.entries[-1]
    last.status = status
    ledger.finish(last.id, ending=ending, end_ms=1.0)


def test_identical_request_after_a_failure_is_a_retry_without_the_header() -> None:
    ledger = Ledger()
    assert _open(ledger, b"a") == (1, 1)
    _fail(ledger, 429)
    assert _open(ledger, b"a") == (1, 2)
    _fail(ledger, 200, ending="reset")
    assert _open(ledger, b"a") == (1, 3)
    assert _open(ledger, b"b") == (2, 1)


def test_identical_request_after_a_success_or_while_pending_is_a_new_call() -> None:
    ledger = Ledger()
    assert _open(ledger, b"a") == (1, 1)
    assert _open(ledger, b"a") == (2, 1)  # the first is still pending: concurrent users
    _fail(ledger, 200)
    assert _open(ledger, b"a") == (3, 1)  # the previous one succeeded


def test_retry_count_header_follows_its_own_request_among_concurrent_ones() -> None:
    ledger = Ledger()
    assert _open(ledger, b"a", "0") == (1, 1)
    assert _open(ledger, b"b", "0") == (2, 1)
    assert _open(ledger, b"a", "1") == (1, 2)


def test_routes_are_counted_separately() -> None:
    ledger = Ledger()
    assert _open(ledger, b"a", route="openai") == (1, 1)
    _fail(ledger)
    assert _open(ledger, b"q", route="orders") == (1, 1)
    assert _open(ledger, b"a", route="openai") == (1, 2)


def test_finish_records_timings_and_ending() -> None:
    ledger = Ledger()
    _open(ledger, b"a")
    ledger.finish(1, ending="reset", end_ms=12.5, first_byte_ms=3.0, bytes_sent=42)
    entry = ledger.get(1)
    assert (entry.ending, entry.end_ms, entry.first_byte_ms, entry.bytes_sent) == (
        "reset",
        12.5,
        3.0,
        42,
    )
    assert ledger.to_json()[0]["ending"] == "reset"


def test_a_bounded_ledger_drops_the_oldest_and_counts_them() -> None:
    ledger = Ledger(max_entries=3)
    for body in (b"a", b"b", b"c", b"d", b"e"):
        _open(ledger, body)
    assert [e.id for e in ledger.entries] == [3, 4, 5]  # ids keep counting
    assert len(ledger) == 3 and ledger.dropped == 2
    assert ledger.get(4).id == 4
    ledger.finish(1, ending="completed", end_ms=1.0)  # dropped meanwhile: nothing to record
    ledger.finish(5, ending="reset", end_ms=2.0)
    assert ledger.get(5).ending == "reset"
    try:
        ledger.get(2)
    except IndexError:
        pass
    else:
        raise AssertionError("a dropped entry must not be returned")
    # A dropped request is forgotten: its repeat is a new logical call, not a retry.
    assert _open(ledger, b"a", "1") == (6, 1)
    ledger.reset()
    assert ledger.dropped == 0 and _open(ledger, b"z") == (1, 1)
