"""The in-process door executes plans like a real server: timing, timeouts, resets, ledger."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from door_helpers import (
    CHAT_URL,
    SSE_BODY,
    MemorySource,
    NoNetwork,
    json_response,
    script,
    sse_response,
)

from faultkit.doors import (
    AsyncFaultkitTransport,
    AsyncHttpx2FaultkitTransport,
    FaultkitTransport,
    Httpx2FaultkitTransport,
)
from faultkit.engine import Engine
from faultkit.errors import FaultkitError, UnmatchedRequest
from faultkit.exchange import ResponseHead
from faultkit.plan import Close, Plan, Reset, SendBytes, SendHead, Wait
from faultkit.scenario import Rule

SYNC = [pytest.param(httpx, FaultkitTransport, id="httpx"),
        pytest.param(httpx2, Httpx2FaultkitTransport, id="httpx2")]  # fmt: skip
ASYNC = [pytest.param(httpx, AsyncFaultkitTransport, id="httpx"),
         pytest.param(httpx2, AsyncHttpx2FaultkitTransport, id="httpx2")]  # fmt: skip

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


def _engine(*responses: Any, path: str = "/v1/chat/completions") -> Engine:
    source = MemorySource()
    for response in responses:
        source.add("POST", path, response)
    return Engine(source=source)


def _latency(engine: Engine, ms: float) -> None:
    engine.add_rule(Rule.model_validate({"fault": {"type": "latency", "latency_ms": ms}}))


# -- replay -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mod", "door"), SYNC)
def test_replays_recorded_json_and_fills_the_ledger(mod: ModuleType, door: type) -> None:
    engine = _engine(json_response(b'{"answer": 42}'))
    with mod.Client(transport=door(engine, upstream=NoNetwork())) as client:
        response = client.post(CHAT_URL, json=CHAT)
    assert response.status_code == 200
    assert response.json() == {"answer": 42}
    # The recorded content-length (999) describes recorded framing, not what the door sends.
    assert response.headers.get("content-length") != "999"
    (entry,) = engine.ledger.entries
    assert entry.route == "openai"
    assert entry.recording == "memory#/v1/chat/completions"
    assert entry.ending == "completed"
    assert entry.bytes_sent == len(b'{"answer": 42}')
    assert entry.first_byte_ms is not None and entry.end_ms is not None
    assert entry.arrival_ms <= entry.first_byte_ms <= entry.end_ms


@pytest.mark.parametrize(
    ("url", "route", "expected"),
    [
        ("https://api.openai.com/v1/chat/completions", None, "openai"),
        ("https://api.anthropic.com/v1/messages", None, "anthropic"),
        ("http://orders.internal:8080/v1/chat/completions", None, "orders.internal"),
        ("https://api.openai.com/v1/chat/completions", "primary", "primary"),
    ],
)
def test_route_comes_from_the_host_unless_given(url: str, route: str | None, expected: str) -> None:
    source = MemorySource()
    for path in ("/v1/chat/completions", "/v1/messages"):
        source.add("POST", path, json_response())
    engine = Engine(source=source)
    with httpx.Client(transport=FaultkitTransport(engine, route=route)) as client:
        client.post(url, json=CHAT)
    assert engine.ledger.entries[0].route == expected


@pytest.mark.parametrize(("mod", "door"), SYNC)
def test_stream_arrives_event_by_event_with_recorded_timing(mod: ModuleType, door: type) -> None:
    engine = _engine(sse_response(offsets=(0.0, 150.0, 300.0)))
    arrivals: list[tuple[float, bytes]] = []
    with mod.Client(transport=door(engine)) as client:
        start = time.monotonic()
        with client.stream("POST", CHAT_URL, json=CHAT) as response:
            for chunk in response.iter_raw():
                arrivals.append((time.monotonic() - start, chunk))
    chunks = [c for _, c in arrivals]
    assert b"".join(chunks) == SSE_BODY
    assert len(chunks) == 3  # one chunk per event: never buffered into one
    times = [t for t, _ in arrivals]
    # Spread out as recorded; a buffered body would deliver everything at once at the end.
    # Each gap at least half the recorded 150 ms: on a busy machine the test may read one
    # event late, which shortens the next gap when events are due at their recorded offsets.
    # The last event cannot come before its offset, so that bound is tight.
    assert times[1] - times[0] >= 0.075 and times[2] - times[1] >= 0.075
    assert times[2] >= 0.295
    assert engine.ledger.entries[0].ending == "completed"


@pytest.mark.parametrize(("mod", "door"), ASYNC)
async def test_async_stream_arrives_event_by_event(mod: ModuleType, door: type) -> None:
    engine = _engine(sse_response(offsets=(0.0, 120.0, 240.0)))
    times: list[float] = []
    async with mod.AsyncClient(transport=door(engine)) as client:
        start = time.monotonic()
        async with client.stream("POST", CHAT_URL, json=CHAT) as response:
            async for _chunk in response.aiter_raw():
                times.append(time.monotonic() - start)
    assert len(times) == 3
    # Half the recorded gap at least (a late read shortens the next gap); the last event
    # never before its offset.
    assert times[1] - times[0] >= 0.06 and times[2] - times[1] >= 0.06 and times[2] >= 0.235
    (entry,) = engine.ledger.entries
    assert entry.ending == "completed" and entry.bytes_sent == len(SSE_BODY)


# -- timing and timeouts ------------------------------------------------------------------------


@pytest.mark.parametrize(("mod", "door"), SYNC)
def test_latency_within_timeout_delays_the_answer(mod: ModuleType, door: type) -> None:
    engine = _engine(json_response())
    _latency(engine, 150)
    with mod.Client(transport=door(engine), timeout=2.0) as client:
        start = time.monotonic()
        client.post(CHAT_URL, json=CHAT)
        elapsed = time.monotonic() - start
    assert 0.14 <= elapsed < 1.0
    entry = engine.ledger.entries[0]
    assert entry.first_byte_ms is not None and entry.first_byte_ms - entry.arrival_ms >= 140


@pytest.mark.parametrize(("mod", "door"), SYNC)
def test_wait_longer_than_read_timeout_raises_read_timeout_after_the_timeout(
    mod: ModuleType, door: type
) -> None:
    engine = _engine(json_response())
    _latency(engine, 5_000)
    with mod.Client(transport=door(engine), timeout=mod.Timeout(5.0, read=0.2)) as client:
        start = time.monotonic()
        with pytest.raises(mod.ReadTimeout):
            client.post(CHAT_URL, json=CHAT)
        elapsed = time.monotonic() - start
    assert 0.19 <= elapsed < 1.0  # waited the read timeout, not the 5 s stall
    entry = engine.ledger.entries[0]
    # A client that stopped waiting, as the proxy sees it too; the cause stays in the error.
    assert (entry.ending, entry.error) == ("client_closed", "read timeout (0.2 s)")


@pytest.mark.parametrize(("mod", "door"), ASYNC)
async def test_async_stall_mid_stream_times_out_from_the_iterator(
    mod: ModuleType, door: type
) -> None:
    engine = _engine(sse_response())

    def stall_after_first_event(plan: Plan) -> Plan:
        actions = list(plan.actions)
        actions.insert(2, Wait(ms=5_000, reason="stall"))
        return plan.replace(actions)

    script(engine, stall_after_first_event)
    got: list[bytes] = []
    async with mod.AsyncClient(transport=door(engine), timeout=mod.Timeout(5.0, read=0.2)) as c:
        start = time.monotonic()
        async with c.stream("POST", CHAT_URL, json=CHAT) as response:
            assert response.status_code == 200
            with pytest.raises(mod.ReadTimeout):
                async for chunk in response.aiter_raw():
                    got.append(chunk)
        elapsed = time.monotonic() - start
    assert len(got) == 1
    assert 0.19 <= elapsed < 1.0
    entry = engine.ledger.entries[0]
    # A client that stopped waiting, as the proxy sees it too; the cause stays in the error.
    assert (entry.ending, entry.error) == ("client_closed", "read timeout (0.2 s)")


@pytest.mark.parametrize(("mod", "door"), SYNC)
def test_heartbeats_keep_a_long_wait_under_the_read_timeout(mod: ModuleType, door: type) -> None:
    engine = _engine(sse_response())

    def quiet_with_heartbeats(plan: Plan) -> Plan:
        actions = list(plan.actions)
        actions.insert(2, Wait(ms=450, heartbeat_ms=100))
        return plan.replace(actions)

    script(engine, quiet_with_heartbeats)
    with (
        mod.Client(transport=door(engine), timeout=mod.Timeout(5.0, read=0.25)) as client,
        client.stream("POST", CHAT_URL, json=CHAT) as response,
    ):
        chunks = list(response.iter_raw())
    heartbeats = [c for c in chunks if c == b": keep-alive\n\n"]
    assert len(heartbeats) == 4  # at 100, 200, 300, 400 ms of the 450 ms wait
    assert b"".join(c for c in chunks if c not in heartbeats) == SSE_BODY
    assert engine.ledger.entries[0].ending == "completed"


# -- resets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("mod", "door"), SYNC)
def test_reset_before_head_is_a_disconnect_without_response(mod: ModuleType, door: type) -> None:
    engine = _engine()
    script(engine, lambda plan: Plan(actions=(Reset(reason="test"),)), alone=True)
    with (
        mod.Client(transport=door(engine, upstream=NoNetwork())) as client,
        pytest.raises(mod.ReadError, match="reset by peer"),
    ):
        client.post(CHAT_URL, json=CHAT)
    assert engine.ledger.entries[0].ending == "reset"


@pytest.mark.parametrize(("mod", "door"), ASYNC)
async def test_reset_mid_body_is_an_incomplete_read(mod: ModuleType, door: type) -> None:
    engine = _engine(sse_response())
    script(engine, lambda plan: plan.replace([*plan.actions[:2], Reset()]))
    got: list[bytes] = []
    async with (
        mod.AsyncClient(transport=door(engine)) as client,
        client.stream("POST", CHAT_URL, json=CHAT) as response,
    ):
        with pytest.raises(mod.ReadError, match="reset by peer"):
            async for chunk in response.aiter_raw():
                got.append(chunk)
    assert len(got) == 1
    (entry,) = engine.ledger.entries
    assert entry.ending == "reset" and entry.bytes_sent == len(got[0])


def test_plan_ending_early_gives_a_short_but_clean_stream() -> None:
    engine = _engine(sse_response())
    script(engine, lambda plan: plan.replace([*plan.actions[:2], Close()]))
    with (
        httpx.Client(transport=FaultkitTransport(engine)) as client,
        client.stream("POST", CHAT_URL, json=CHAT) as response,
    ):
        body = response.read()
    assert body == SSE_BODY.split(b"\n\n")[0] + b"\n\n"
    assert engine.ledger.entries[0].ending == "completed"


# -- client behaviour ---------------------------------------------------------------------------


def test_client_closing_early_is_client_closed() -> None:
    # Events 200 ms apart: the client leaves after the first, before the rest is due. (Had
    # they all been due at once, a server would have written them all: completed.)
    engine = _engine(sse_response((0.0, 200.0, 400.0)))
    with (
        httpx.Client(transport=FaultkitTransport(engine)) as client,
        client.stream("POST", CHAT_URL, json=CHAT) as response,
    ):
        next(response.iter_raw())
    assert engine.ledger.entries[0].ending == "client_closed"


def test_a_client_that_stops_reading_what_was_all_due_lost_nothing() -> None:
    """A server writes what is due without waiting for the client to read it, as the proxy
    does: a client that reads one event of a body all due at once and hangs up got the rest
    in its socket (H3's D2/D8: an SDK retrying a 429 without reading its body)."""
    engine = _engine(sse_response())
    with (
        httpx.Client(transport=FaultkitTransport(engine)) as client,
        client.stream("POST", CHAT_URL, json=CHAT) as response,
    ):
        next(response.iter_raw())
    (entry,) = engine.ledger.entries
    assert (entry.ending, entry.bytes_sent) == ("completed", len(SSE_BODY))


def test_closing_after_the_last_event_counts_as_completed() -> None:
    """SDKs stop reading at [DONE] and close; nothing the client needed was lost."""
    engine = _engine(sse_response())
    script(engine, lambda plan: plan.replace([*plan.actions[:-1], Wait(ms=5_000), Close()]))
    with (
        httpx.Client(transport=FaultkitTransport(engine)) as client,
        client.stream("POST", CHAT_URL, json=CHAT) as response,
    ):
        seen = b""
        for chunk in response.iter_raw():
            seen += chunk
            if b"[DONE]" in seen:
                break
    assert engine.ledger.entries[0].ending == "completed"


def test_status_reason_and_headers_reach_the_client() -> None:
    head = ResponseHead(status=429, reason="Too Many Requests", headers=(("retry-after-ms", "50"),))
    engine = _engine()
    script(engine, lambda plan: Plan(actions=(SendHead(head=head), SendBytes(data=b"{}"), Close())),
           alone=True)  # fmt: skip
    with httpx.Client(transport=FaultkitTransport(engine)) as client:
        response = client.post(CHAT_URL, json=CHAT)
    assert response.status_code == 429
    assert response.reason_phrase == "Too Many Requests"
    assert response.headers["retry-after-ms"] == "50"
    assert engine.ledger.entries[0].status == 429


async def test_a_client_giving_up_on_its_own_deadline_is_client_closed() -> None:
    engine = _engine(json_response())
    _latency(engine, 5_000)
    async with httpx.AsyncClient(transport=AsyncFaultkitTransport(engine), timeout=None) as c:
        with pytest.raises(TimeoutError):
            with anyio.fail_after(0.1):
                await c.post(CHAT_URL, json=CHAT)
    assert engine.ledger.entries[0].ending == "client_closed"


def test_sync_door_serves_many_threads_at_once() -> None:
    engine = _engine(*[json_response(b'{"n": %d}' % i) for i in range(8)])
    _latency(engine, 300)
    with httpx.Client(transport=FaultkitTransport(engine)) as client:
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            bodies = list(pool.map(lambda _: client.post(CHAT_URL, json=CHAT).json(), range(8)))
        elapsed = time.monotonic() - start
    assert sorted(b["n"] for b in bodies) == list(range(8))
    # Overlapped: eight 300 ms waits in a queue would take 2.4 s. The bound leaves 1.2 s for
    # eight threads on a busy 2-core machine (with 100 ms waits it left 50 ms, and could flake).
    assert elapsed < 1.5
    assert [e.ending for e in engine.ledger.entries] == ["completed"] * 8


# -- unmatched ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("mod", "door"), SYNC)
def test_unmatched_request_raises_and_never_touches_the_network(
    mod: ModuleType, door: type
) -> None:
    engine = _engine(json_response(), path="/v1/embeddings")
    with (
        mod.Client(transport=door(engine, upstream=NoNetwork())) as client,
        pytest.raises(UnmatchedRequest) as info,
    ):
        client.post(CHAT_URL, json=CHAT)
    assert "POST /v1/embeddings" in str(info.value)  # names the closest recordings
    (entry,) = engine.ledger.entries
    assert entry.ending == "unmatched" and entry.end_ms is not None


async def test_async_unmatched_without_any_cassette() -> None:
    engine = Engine()
    async with httpx.AsyncClient(transport=AsyncFaultkitTransport(engine)) as client:
        with pytest.raises(UnmatchedRequest, match="no cassette loaded"):
            await client.post(CHAT_URL, json=CHAT)
    assert engine.ledger.entries[0].ending == "unmatched"


# -- record / passthrough / new_episodes ---------------------------------------------------------


def test_record_mode_needs_a_store_that_records() -> None:
    with pytest.raises(FaultkitError, match="cassette store"):
        FaultkitTransport(Engine(), mode="record")
    with pytest.raises(FaultkitError, match="unknown door mode"):
        FaultkitTransport(Engine(), mode="replya")  # type: ignore[arg-type]


@pytest.mark.parametrize(("mod", "door"), SYNC)
def test_record_streams_through_unbuffered_and_records_event_timing(
    mod: ModuleType, door: type, local_server: Any
) -> None:
    source = MemorySource()
    engine = Engine(source=source)
    times: list[float] = []
    with mod.Client(transport=door(engine, mode="record")) as client:
        start = time.monotonic()
        with client.stream("POST", f"{local_server.url}/sse", json=CHAT) as response:
            for _chunk in response.iter_raw():
                times.append(time.monotonic() - start)
    # Passed on as the server sent them (100 ms apart, so 200 ms from first to last); a
    # buffered body would arrive at once. Half of it: the first read may be late.
    assert times[-1] - times[0] >= 0.1
    ((request, recorded),) = source.recorded
    assert request.path == "/sse" and json.loads(request.body) == CHAT
    assert recorded.is_sse
    assert recorded.body.endswith(b"data: [DONE]\n\n")
    offsets = recorded.event_offsets_ms
    assert offsets is not None and len(offsets) == 4
    assert list(offsets) == sorted(offsets)
    # Two 100 ms server gaps between events 0 and 2 (half, for a late first read).
    assert offsets[2] - offsets[0] >= 100
    assert local_server.hits[0][2].get("accept-encoding") == "identity"
    (entry,) = engine.ledger.entries
    assert entry.ending == "completed" and entry.status == 200 and entry.route == "127.0.0.1"


@pytest.mark.parametrize(("mod", "door"), ASYNC)
async def test_async_record_drains_upstream_when_the_client_stops_early(
    mod: ModuleType, door: type, local_server: Any
) -> None:
    local_server.gap_s = 0.02
    source = MemorySource()
    engine = Engine(source=source)
    async with (
        mod.AsyncClient(transport=door(engine, mode="record")) as client,
        client.stream("POST", f"{local_server.url}/sse", json=CHAT) as response,
    ):
        async for _chunk in response.aiter_raw():
            break
    ((_, recorded),) = source.recorded
    assert recorded.body.endswith(b"data: [DONE]\n\n")  # the recording is whole
    assert engine.ledger.entries[0].ending == "client_closed"


def test_passthrough_applies_faults_and_saves_nothing(local_server: Any) -> None:
    source = MemorySource()
    engine = Engine(source=source)
    _latency(engine, 150)
    with httpx.Client(transport=FaultkitTransport(engine, mode="passthrough")) as client:
        start = time.monotonic()
        response = client.get(f"{local_server.url}/answer")
        elapsed = time.monotonic() - start
    assert response.json() == {"answer": 42}
    assert elapsed >= 0.14
    assert source.recorded == []
    assert engine.ledger.entries[0].faults[0].type == "latency"


def test_record_with_a_fault_buffers_records_the_real_answer_and_faults_the_client(
    local_server: Any,
) -> None:
    source = MemorySource()
    engine = Engine(source=source)
    script(engine, lambda plan: plan.replace([*plan.actions[:2], Reset()]))
    local_server.gap_s = 0.01
    with (
        httpx.Client(transport=FaultkitTransport(engine, mode="record")) as client,
        client.stream("GET", f"{local_server.url}/sse") as response,
        pytest.raises(httpx.ReadError),
    ):
        response.read()
    ((_, recorded),) = source.recorded
    assert recorded.body.count(b"data:") == 4  # recorded whole, before the fault cut it
    assert engine.ledger.entries[0].ending == "reset"


def test_record_mode_answers_a_self_contained_fault_without_calling_upstream() -> None:
    engine = Engine(source=MemorySource())
    head = ResponseHead(status=503)
    script(engine, lambda plan: Plan(actions=(SendHead(head=head), Close())), alone=True)
    door = FaultkitTransport(engine, mode="record", upstream=NoNetwork())
    with httpx.Client(transport=door) as client:
        assert client.post(CHAT_URL, json=CHAT).status_code == 503


def test_new_episodes_replays_matches_and_records_the_rest(local_server: Any) -> None:
    source = MemorySource().add("GET", "/known", json_response(b'{"from": "cassette"}'))
    engine = Engine(source=source)
    with httpx.Client(transport=FaultkitTransport(engine, mode="new_episodes")) as client:
        assert client.get(f"{local_server.url}/known").json() == {"from": "cassette"}
        assert client.get(f"{local_server.url}/new").json() == {"answer": 42}
    assert [hit[1] for hit in local_server.hits] == ["/new"]
    assert [req.path for req, _ in source.recorded] == ["/new"]
    assert [e.recording for e in engine.ledger.entries] == ["memory#/known", None]
