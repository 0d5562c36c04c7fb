"""Plan execution timing and its pre-encoded fast path for plain responses."""

from __future__ import annotations

import asyncio
import time

import pytest

from faultkit.doors.proxy import execute as execute_module
from faultkit.doors.proxy.execute import clock, execute, sleep_until
from faultkit.exchange import ResponseHead
from faultkit.plan import Close, Plan, SendBytes, SendHead, Wait

HEAD = SendHead(head=ResponseHead(status=200, headers=(("content-type", "application/json"),)))


class Sink:
    def __init__(self) -> None:
        self.writes: list[tuple[float, bytes]] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append((clock(), data))

    async def drain(self) -> None:
        return None

    def reset(self) -> None:
        self.closed = True


async def _lateness(delays: list[float]) -> list[float]:
    out = []
    for delay in delays:
        due = clock() + delay
        await sleep_until(due)
        out.append(clock() - due)
    return out


DELAYS = [0.0004, 0.0017, 0.0031, 0.0105, 0.0203, 0.0009, 0.0252]


# The median lateness bound: about a ms idle, but on a busy 2-core machine (other test
# sessions running) the loop can wait a scheduler slice or two for the CPU at every wake-up.
# 8 ms still fails a timer that only wakes on a coarse tick (10 ms and up).
LATE_S = 0.008


async def test_sleep_until_is_never_early_and_at_most_about_a_ms_late() -> None:
    late = await _lateness(DELAYS)
    assert min(late) >= 0
    assert sorted(late)[len(late) // 2] < LATE_S  # median; a busy CI box may stall once


def test_sleep_until_is_never_early_on_uvloop_whose_clock_counts_whole_ms() -> None:
    uvloop = pytest.importorskip("uvloop")
    late = uvloop.run(_lateness(DELAYS))
    assert min(late) >= 0
    assert sorted(late)[len(late) // 2] < LATE_S


PLANS = {
    "body": Plan(actions=(HEAD, SendBytes(data=b'{"a": 1}'), Close())),
    "delayed": Plan(actions=(Wait(ms=30), HEAD, SendBytes(data=b"{}"), Close())),
    "empty": Plan(actions=(HEAD, Close())),
}


@pytest.mark.parametrize("name", sorted(PLANS))
@pytest.mark.parametrize(
    ("method", "http11", "keep"), [("GET", True, True), ("HEAD", False, False)]
)
async def test_the_fast_path_sends_what_the_general_path_sends(
    name: str, method: str, http11: bool, keep: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = PLANS[name]
    fast, general = Sink(), Sink()
    start = clock()
    out_fast = await execute(plan, fast, start=start, method=method, http11=http11, keep_alive=keep)
    monkeypatch.setattr(execute_module, "_fixed", lambda *args: None)
    start2 = clock()
    out_general = await execute(
        plan, general, start=start2, method=method, http11=http11, keep_alive=keep
    )
    assert b"".join(d for _, d in fast.writes) == b"".join(d for _, d in general.writes)
    assert (out_fast.ending, out_fast.bytes_sent, out_fast.keep_alive) == (
        out_general.ending,
        out_general.bytes_sent,
        out_general.keep_alive,
    )
    if name == "delayed":
        assert fast.writes[0][0] - start >= 0.030


async def test_a_delayed_plain_response_whose_client_left_is_not_written() -> None:
    plan = PLANS["delayed"]
    sink = Sink()
    task = asyncio.ensure_future(execute(plan, sink, start=clock()))
    await asyncio.sleep(0.005)
    task.cancel()
    delivery = await task
    # The client left before anything went out (the flow makes that ``client_closed``).
    assert (delivery.ending, delivery.delivered, sink.writes) == (None, -1, [])


async def test_the_fast_path_is_not_used_for_streams() -> None:
    plan = Plan(actions=(HEAD, SendBytes(data=b"a"), Wait(ms=1), SendBytes(data=b"b"), Close()))
    assert execute_module._fixed(plan, "GET", True, True) is None
    sink = Sink()
    started = time.monotonic()
    outcome = await execute(plan, sink, start=clock())
    assert outcome.ending == "completed" and time.monotonic() - started >= 0.001
