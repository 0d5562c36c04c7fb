"""The ledger stays bounded in bytes, not only in entries: long URLs are cut, ledgers sharing a
budget drop their oldest entries past it, and a reset gives the bytes back."""

from __future__ import annotations

import tracemalloc

from faultkit.faults.base import Alteration
from faultkit.ledger import (
    MAX_URL_CHARS,
    AppliedFault,
    ByteBudget,
    Ledger,
    compact_url,
)


def add(ledger: Ledger, i: int, *, url_chars: int = 40, faulted: bool = False) -> int:
    entry = ledger.open(
        route="tool",
        method="GET",
        url=f"http://tool.test/items/{i}?q=" + "x" * url_chars,
        fmt="json",
        model=None,
        body=b"",
        retry_count=None,
        arrival_ms=float(i),
    )
    if faulted:
        alteration = Alteration(path="$.items", action="removed", original=list(range(50)))
        entry.faults.append(
            AppliedFault(rule="cut", type="partial_tool_data", params={}, alterations=[alteration])
        )
    ledger.finish(entry.id, ending="completed", end_ms=i + 1.0)
    return entry.id


def test_long_urls_are_cut_and_say_how_much_went() -> None:
    short = "http://tool.test/items/1?q=abc"
    assert compact_url(short) == short
    long = "http://tool.test/items/1?q=" + "y" * 60_000
    cut = compact_url(long)
    assert cut.startswith(long[:MAX_URL_CHARS])
    assert cut.endswith(f"...[{len(long) - MAX_URL_CHARS} more chars]")
    ledger = Ledger()
    entry_id = add(ledger, 1, url_chars=60_000)
    entry = ledger.get(entry_id)
    assert len(entry.url) < MAX_URL_CHARS + 40
    assert entry.url.startswith("http://tool.test/items/1?q=xxx")
    assert entry.url.endswith(f"...[{60_000 + 27 - MAX_URL_CHARS} more chars]")


def test_identical_long_urls_still_count_as_retries() -> None:
    """The request hash is taken from the whole URL, so two URLs that differ only after the
    cut are different requests, and an identical one after a failure is an attempt."""
    ledger = Ledger()
    base = "http://tool.test/search?q=" + "z" * 5000
    first = ledger.open(
        route="tool", method="GET", url=base + "A", fmt="json", model=None, body=b"",
        retry_count=None, arrival_ms=0.0,
    )  # fmt: skip
    ledger.finish(first.id, ending="reset", end_ms=1.0)
    other = ledger.open(
        route="tool", method="GET", url=base + "B", fmt="json", model=None, body=b"",
        retry_count=None, arrival_ms=2.0,
    )  # fmt: skip
    ledger.finish(other.id, ending="completed", end_ms=3.0)
    again = ledger.open(
        route="tool", method="GET", url=base + "A", fmt="json", model=None, body=b"",
        retry_count=None, arrival_ms=4.0,
    )  # fmt: skip
    assert other.logical_call != first.logical_call
    assert (again.logical_call, again.attempt) == (first.logical_call, 2)


def test_a_budget_bounds_the_bytes_of_every_ledger_sharing_it() -> None:
    budget = ByteBudget(200_000)
    busy, quiet = Ledger(budget=budget), Ledger(budget=budget)
    for i in range(3):
        add(quiet, i)
    for i in range(5000):
        add(busy, i, url_chars=3000 if i % 10 == 0 else 40, faulted=i % 3 == 0)
        assert budget.used <= budget.limit + 8000  # one entry over at most, before a drop
    assert busy.dropped > 4000
    assert len(busy) < 1000
    assert busy.entries[-1].id == 5000  # the newest are kept
    assert len(quiet) == 3  # the ledger over the limit pays for it


def test_memory_stays_flat_once_the_budget_is_full() -> None:
    ledger = Ledger(budget=ByteBudget(2_000_000))
    for i in range(3000):
        add(ledger, i, url_chars=500)
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        for i in range(3000, 13000):
            add(ledger, i, url_chars=500, faulted=i % 2 == 0)
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    # 10,000 more entries, each over 1 KB; a bounded ledger holds ~2 MB whatever the count.
    assert grown < 3_000_000, grown


def test_reset_gives_the_bytes_back_and_an_answer_in_flight_is_ignored() -> None:
    budget = ByteBudget(10_000_000)
    ledger = Ledger(budget=budget)
    for i in range(100):
        add(ledger, i)
    pending = ledger.open(
        route="tool", method="GET", url="http://tool.test/x", fmt="json", model=None,
        body=b"", retry_count=None, arrival_ms=0.0,
    )  # fmt: skip
    assert budget.used > 90_000
    ledger.reset()
    assert budget.used == 0 and len(ledger) == 0
    ledger.finish(pending.id, ending="completed", end_ms=1.0)  # answered after the reset
    assert len(ledger) == 0
