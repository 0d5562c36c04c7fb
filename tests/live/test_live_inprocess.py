"""Faults on a live stream through the in-process door (pass-through mode): a real httpx
client, the real transport, a real upstream on 127.0.0.1 sending an event every 400 ms. The
client measures when each event reaches it.

Before lazy plans, a fault firing on a live answer made the door read the whole answer first
(here 2.4 s) and then replay it without its timing: every event came at once, after the delay.
Margins are wide (a busy 2-core machine): the upstream's gaps are 400 ms, and a kept gap is
asserted between 200 and 800 ms, while a lost one would be about 0.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import anyio
import httpx
import pytest
from _sse_upstream import EVENTS, sse_upstream

from faultkit.doors import AsyncFaultkitTransport, FaultkitTransport
from faultkit.engine import Engine
from faultkit.errors import UnmatchedRequest
from faultkit.exchange import Request, Response
from faultkit.formats.sse import SSEParser
from faultkit.scenario import Rule, Scenario

GAP_S = 0.4
CHAT = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def _engine(fault: dict[str, Any]) -> Engine:
    rule = Rule.model_validate({"name": "live", "fault": fault})
    return Engine(Scenario(name="live", seed=1, rules=[rule]), routes={})


def _stream(engine: Engine, url: str) -> tuple[list[float], BaseException | None]:
    """When each event reached the client (s after the request), and the error that ended
    the stream, if any."""
    times: list[float] = []
    parser = SSEParser()
    error: BaseException | None = None
    transport = FaultkitTransport(engine, mode="passthrough")
    with httpx.Client(transport=transport, timeout=30) as client:
        start = time.monotonic()
        try:
            with client.stream("POST", url + "/v1/chat/completions", json=CHAT) as response:
                for chunk in response.iter_raw():
                    for _ in parser.feed(chunk):
                        times.append(time.monotonic() - start)
        except httpx.HTTPError as exc:
            error = exc
    return times, error


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


def test_slow_first_token_delays_the_first_event_and_keeps_the_gaps_after_it() -> None:
    engine = _engine({"type": "slow_first_token", "delay_ms": 1500})
    with sse_upstream(GAP_S) as upstream:
        times, error = _stream(engine, upstream.url)
    assert error is None and len(times) == len(EVENTS)
    # upstream sends event 0 at 0.4 s: the client gets it 1.5 s later, not after the whole
    # stream (2.4 s) has been read
    assert 1.85 <= times[0] < 3.0, times
    assert all(0.2 <= gap <= 0.8 for gap in _gaps(times)), _gaps(times)
    (entry,) = engine.ledger.entries
    assert [f.type for f in entry.faults] == ["slow_first_token"]
    assert entry.ending == "completed"


def test_stall_goes_silent_at_its_point_and_the_rest_keeps_its_gaps() -> None:
    engine = _engine({"type": "stall", "stall_ms": 1200, "after_events": 2})
    with sse_upstream(GAP_S) as upstream:
        times, error = _stream(engine, upstream.url)
    assert error is None and len(times) == len(EVENTS)
    gaps = _gaps(times)
    assert 1.45 <= gaps[1] <= 2.2, gaps  # 400 ms upstream + 1200 ms stall
    others = gaps[:1] + gaps[2:]
    assert all(0.2 <= gap <= 0.8 for gap in others), gaps
    assert times[0] < 0.8, times  # nothing held before the stall point
    (entry,) = engine.ledger.entries
    assert entry.faults[0].alterations[0].path == "response.events[2:]"


def test_a_reset_cuts_the_stream_when_its_event_arrives() -> None:
    engine = _engine({"type": "reset", "after_events": 2})
    with sse_upstream(GAP_S) as upstream:
        start = time.monotonic()
        times, error = _stream(engine, upstream.url)
        ended = time.monotonic() - start
    assert isinstance(error, httpx.ReadError)  # a reset, as through the proxy
    assert len(times) == 2
    assert ended < 1.8, ended  # the upstream's second event comes at 0.8 s, its end at 2.4 s
    (entry,) = engine.ledger.entries
    assert entry.ending == "reset"
    (alteration,) = entry.faults[0].alterations
    assert alteration.value == {"events": 2, "bytes": len(EVENTS[0]) + len(EVENTS[1])}
    assert alteration.original == {"events": None, "bytes": None}  # never read: unknown


def test_a_whole_body_fault_holds_the_answer_until_the_upstream_ends() -> None:
    engine = _engine({"type": "broken_sse", "kind": "invalid_data_line"})
    with sse_upstream(GAP_S) as upstream:
        times, error = _stream(engine, upstream.url)
    assert error is None
    assert len(times) == len(EVENTS)  # one of them carries a line that is not JSON
    assert times[0] >= 2.3, times  # buffered: the whole answer first
    (entry,) = engine.ledger.entries
    assert [f.type for f in entry.faults] == ["broken_sse"]


def test_no_fault_passes_the_stream_through_as_it_arrives() -> None:
    engine = Engine(Scenario(name="none"), routes={})
    with sse_upstream(GAP_S) as upstream:
        times, error = _stream(engine, upstream.url)
    assert error is None and len(times) == len(EVENTS)
    assert times[0] < 0.8 and all(0.2 <= gap <= 0.8 for gap in _gaps(times))


@pytest.mark.parametrize("then", ["close", "reset"])
def test_stall_then_close_or_reset_ends_after_the_stall(then: str) -> None:
    engine = _engine({"type": "stall", "stall_ms": 800, "after_events": 1, "then": then})
    with sse_upstream(GAP_S) as upstream:
        start = time.monotonic()
        times, error = _stream(engine, upstream.url)
        ended = time.monotonic() - start
    assert len(times) == 1
    assert (error is None) == (then == "close")
    assert 1.1 <= ended < 2.2, ended  # event 0 at 0.4 s, then 0.8 s of silence
    (entry,) = engine.ledger.entries
    assert entry.faults[0].alterations[1].value == then


# -- the async transport (a reader task instead of a thread), under asyncio and trio ---------
def _astream(engine: Engine, url: str, backend: str) -> tuple[list[float], BaseException | None]:
    async def run() -> tuple[list[float], BaseException | None]:
        times: list[float] = []
        parser = SSEParser()
        error: BaseException | None = None
        transport = AsyncFaultkitTransport(engine, mode="passthrough")
        async with httpx.AsyncClient(transport=transport, timeout=30) as client:
            start = time.monotonic()
            try:
                async with client.stream(
                    "POST", url + "/v1/chat/completions", json=CHAT
                ) as response:
                    async for chunk in response.aiter_raw():
                        for _ in parser.feed(chunk):
                            times.append(time.monotonic() - start)
            except httpx.HTTPError as exc:
                error = exc
        return times, error

    return anyio.run(run, backend=backend)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_async_slow_first_token_and_stall_keep_the_live_gaps(backend: str) -> None:
    engine = _engine({"type": "slow_first_token", "delay_ms": 1500})
    engine.add_rule(
        Rule.model_validate({"fault": {"type": "stall", "stall_ms": 1000, "after_events": 3}})
    )
    with sse_upstream(GAP_S) as upstream:
        times, error = _astream(engine, upstream.url, backend)
    assert error is None and len(times) == len(EVENTS)
    assert 1.85 <= times[0] < 3.0, times
    gaps = _gaps(times)
    assert 1.25 <= gaps[2] <= 2.0, gaps  # 400 ms upstream + 1000 ms stall
    assert all(0.2 <= gap <= 0.8 for gap in gaps[:2] + gaps[3:]), gaps
    (entry,) = engine.ledger.entries
    assert [f.type for f in entry.faults] == ["slow_first_token", "stall"]
    assert entry.ending == "completed"


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_async_reset_cuts_when_its_event_arrives(backend: str) -> None:
    engine = _engine({"type": "reset", "after_events": 2})
    with sse_upstream(GAP_S) as upstream:
        start = time.monotonic()
        times, error = _astream(engine, upstream.url, backend)
        ended = time.monotonic() - start
    assert isinstance(error, httpx.ReadError)  # a reset, as through the proxy
    assert len(times) == 2 and ended < 1.8, (times, ended)
    (entry,) = engine.ledger.entries
    assert entry.ending == "reset"


# -- record mode: the client gets the faulted stream live, the cassette the whole answer ----
class _Recorder:
    """A cassette store that only records (the door asks for ``record``)."""

    def __init__(self) -> None:
        self.recorded: list[tuple[Request, Response]] = []

    def match(self, request: Request) -> Any:
        raise UnmatchedRequest(request.method, request.url, [], "nothing recorded")

    def record(self, request: Request, response: Response) -> None:
        self.recorded.append((request, response))


def test_record_mode_records_the_whole_answer_while_the_client_sees_the_cut() -> None:
    recorder = _Recorder()
    rule = Rule.model_validate({"name": "cut", "fault": {"type": "reset", "after_events": 2}})
    engine = Engine(Scenario(name="rec", rules=[rule]), source=recorder, routes={})
    times: list[float] = []
    parser = SSEParser()
    with (
        sse_upstream(GAP_S) as upstream,
        httpx.Client(transport=FaultkitTransport(engine, mode="record"), timeout=30) as client,
    ):
        start = time.monotonic()
        with (
            pytest.raises(httpx.ReadError),
            client.stream("POST", upstream.url + "/v1/chat/completions", json=CHAT) as response,
        ):
            for chunk in response.iter_raw():
                for _ in parser.feed(chunk):
                    times.append(time.monotonic() - start)
    assert len(times) == 2 and times[-1] < 1.5, times
    ((_, recorded),) = recorder.recorded  # stored by the time the client's stream closed
    assert recorded.body == b"".join(EVENTS)
    offsets = recorded.event_offsets_ms
    assert offsets is not None and len(offsets) == len(EVENTS)
    assert offsets[-1] - offsets[0] >= (len(EVENTS) - 1) * GAP_S * 1000 * 0.5
    (entry,) = engine.ledger.entries
    dropped = entry.faults[0].alterations[0].original
    assert dropped["events"] == len(EVENTS) - 2  # read to the end: known


def test_missing_terminator_passes_the_events_live_and_drops_the_done() -> None:
    engine = _engine({"type": "broken_sse", "kind": "missing_terminator"})
    with sse_upstream(GAP_S) as upstream:
        times, error = _stream(engine, upstream.url)
    assert error is None and len(times) == len(EVENTS) - 1  # no [DONE]
    assert times[0] < 0.8 and all(0.2 <= gap <= 0.8 for gap in _gaps(times)), times
    (entry,) = engine.ledger.entries
    assert entry.faults[0].alterations[0].original == ["[DONE]"]


@pytest.mark.parametrize(("heartbeat", "read_s"), [(True, 0.9), (False, 0.9), (True, 0.5)])
def test_a_live_slow_first_token_against_the_clients_read_timeout(
    heartbeat: bool, read_s: float
) -> None:
    """Heartbeats (': keep-alive' comments) during the delay keep a 0.9 s read timeout from
    firing, as a gateway's keep-alives do; without them the client times out. The delay
    starts when the first event arrives, 0.4 s after the head, so the first heartbeat comes
    0.6 s after the head: a 0.5 s read timeout fires before it, as it does through the real
    proxy (the door times a read from when the client asked, not from when data came)."""
    fault: dict[str, Any] = {"type": "slow_first_token", "delay_ms": 1500}
    if heartbeat:
        fault["heartbeat_ms"] = 200
    engine = _engine(fault)
    transport = FaultkitTransport(engine, mode="passthrough")
    raw = b""
    with (
        sse_upstream(GAP_S) as upstream,
        httpx.Client(transport=transport, timeout=httpx.Timeout(30, read=read_s)) as client,
    ):
        try:
            with client.stream(
                "POST", upstream.url + "/v1/chat/completions", json=CHAT
            ) as response:
                for chunk in response.iter_raw():
                    raw += chunk
            error = None
        except httpx.ReadTimeout as exc:
            error = exc
    (entry,) = engine.ledger.entries
    if heartbeat and read_s > 0.6:
        assert error is None
        assert raw.count(b": keep-alive") >= 4
        assert raw.replace(b": keep-alive\n\n", b"") == b"".join(EVENTS)
    else:
        assert error is not None and raw == b""
        assert entry.ending == "client_closed"


@pytest.mark.parametrize(
    "fault",
    [
        None,
        {"type": "broken_sse", "kind": "invalid_data_line"},
        {"type": "latency", "latency_ms": 1},
    ],
    ids=str,
)
def test_a_client_that_leaves_after_the_head_abandoned_the_answer(
    fault: dict[str, Any] | None,
) -> None:
    """With or without a fault, buffered or not: the body was never read (H3's D6)."""
    engine = _engine(fault) if fault else Engine(Scenario(name="none"), routes={})
    transport = FaultkitTransport(engine, mode="passthrough")
    with sse_upstream(0.05) as upstream, httpx.Client(transport=transport, timeout=30) as client:
        with client.stream("POST", upstream.url + "/v1/chat/completions", json=CHAT) as response:
            assert response.status_code == 200
        time.sleep(0.1)
    (entry,) = engine.ledger.entries
    assert (entry.ending, entry.bytes_sent) == ("client_closed", 0)
