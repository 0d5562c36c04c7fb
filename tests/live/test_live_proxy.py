"""Faults on a live stream through the real proxy process (pass-through mode), the same
measurements as :mod:`test_live_inprocess`: a real httpx client, a real upstream on 127.0.0.1
sending an event every 400 ms, the fault chosen per request with ``x-faultkit-fault``.

Before lazy plans, the proxy read the whole answer first (2.4 s here) when a fault fired, then
replayed it without its timing. Margins are wide (a busy 2-core machine): a kept 400 ms gap is
asserted between 200 and 800 ms, while a lost one would be about 0.
"""

from __future__ import annotations

import itertools
import time

import httpx
import pytest
import yaml
from _sse_upstream import EVENTS, sse_upstream

from faultkit.formats.sse import SSEParser

GAP_S = 0.4
CHAT = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "hi"}]}


def _stream(url: str, fault: str | None) -> tuple[list[float], BaseException | None, float]:
    """When each event reached the client (s after the request), the error that ended the
    stream if any, and when the stream ended."""
    times: list[float] = []
    parser = SSEParser()
    error: BaseException | None = None
    headers = {"x-faultkit-fault": fault} if fault else {}
    with httpx.Client(timeout=30) as client:
        start = time.monotonic()
        try:
            with client.stream(
                "POST", url + "/v1/chat/completions", json=CHAT, headers=headers
            ) as response:
                for chunk in response.iter_raw():
                    for _ in parser.feed(chunk):
                        times.append(time.monotonic() - start)
        except httpx.HTTPError as exc:
            error = exc
        ended = time.monotonic() - start
    return times, error, ended


def _gaps(times: list[float]) -> list[float]:
    return [b - a for a, b in itertools.pairwise(times)]


@pytest.fixture
def door(proxy):  # type: ignore[no-untyped-def]
    with sse_upstream(GAP_S) as upstream:
        running = proxy(
            "--mode", "passthrough", "--upstream", f"llm={upstream.url}", "--only", "llm"
        )
        yield running.door("llm").rstrip("/"), running


@pytest.mark.slow  # ~13 s of real-time streams; the default suite stays near 10 min
def test_live_stream_faults_through_the_proxy(door) -> None:  # type: ignore[no-untyped-def]
    url, running = door

    times, error, _ = _stream(url, None)
    assert error is None and len(times) == len(EVENTS)
    assert times[0] < 0.8 and all(0.2 <= g <= 0.8 for g in _gaps(times)), times

    # slow_first_token: event 0 (upstream: 0.4 s) 1.5 s late, the gaps after it kept
    times, error, _ = _stream(url, "type=slow_first_token;delay_ms=1500")
    assert error is None and len(times) == len(EVENTS)
    assert 1.85 <= times[0] < 3.0, times
    assert all(0.2 <= g <= 0.8 for g in _gaps(times)), _gaps(times)

    # stall after event 2: silence at that point only
    times, error, _ = _stream(url, "type=stall;stall_ms=1200;after_events=2")
    assert error is None and len(times) == len(EVENTS)
    gaps = _gaps(times)
    assert 1.45 <= gaps[1] <= 2.2, gaps
    assert all(0.2 <= g <= 0.8 for g in gaps[:1] + gaps[2:]), gaps
    assert times[0] < 0.8, times

    # reset after event 2: cut when that event arrives, not after the whole stream
    times, error, ended = _stream(url, "type=reset;after_events=2")
    # a real TCP reset: httpx reads it as a connection error or an incomplete body
    assert isinstance(error, httpx.ReadError | httpx.RemoteProtocolError), error
    assert len(times) == 2 and ended < 1.8, (times, ended)

    # a whole-body fault holds the answer until the upstream ends
    times, error, _ = _stream(url, "type=broken_sse;kind=invalid_data_line")
    assert error is None and len(times) == len(EVENTS)
    assert times[0] >= 2.3, times

    entries = running.ledger()
    assert [[f["type"] for f in e["faults"]] for e in entries] == [
        [],
        ["slow_first_token"],
        ["stall"],
        ["reset"],
        ["broken_sse"],
    ]
    assert [e["ending"] for e in entries] == [
        "completed",
        "completed",
        "completed",
        "reset",
        "completed",
    ]
    reset = entries[3]["faults"][0]["alterations"][0]
    assert reset["value"] == {"events": 2, "bytes": len(EVENTS[0]) + len(EVENTS[1])}
    assert reset["original"] == {"events": None, "bytes": None}
    assert entries[2]["faults"][0]["alterations"][0]["path"] == "response.events[2:]"


def test_record_mode_records_the_whole_answer_while_the_client_sees_the_cut(
    proxy, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    cassettes = tmp_path / "cassettes"
    with sse_upstream(GAP_S) as upstream:
        recorder = proxy(
            "--mode", "record", "--cassettes", str(cassettes),
            "--upstream", f"llm={upstream.url}", "--only", "llm",
        )  # fmt: skip
        url = recorder.door("llm").rstrip("/")
        times, error, _ = _stream(url, "type=reset;after_events=2")
        assert isinstance(error, httpx.ReadError | httpx.RemoteProtocolError), error
        assert len(times) == 2 and times[-1] < 1.5, times
        time.sleep(2.5)  # the proxy reads the rest of the answer for the recording
        entries = recorder.ledger()
        code, _, err = recorder.stop()
        assert code == 0, err
    (interaction,) = yaml.safe_load((cassettes / "llm.yaml").read_text())["interactions"]
    assert interaction["response"]["body"]["string"] == b"".join(EVENTS).decode()
    offsets = interaction["faultkit"]["event_offsets_ms"]
    assert len(offsets) == len(EVENTS)
    assert offsets[-1] - offsets[0] >= (len(EVENTS) - 1) * GAP_S * 1000 * 0.5
    (entry,) = entries
    assert entry["ending"] == "reset"
    assert entry["faults"][0]["alterations"][0]["original"]["events"] == len(EVENTS) - 2


def test_heartbeats_keep_a_short_read_timeout_alive_through_the_proxy(door) -> None:  # type: ignore[no-untyped-def]
    url, _ = door
    raw = b""
    headers = {"x-faultkit-fault": "type=slow_first_token;delay_ms=1500;heartbeat_ms=200"}
    with (
        httpx.Client(timeout=httpx.Timeout(30, read=0.9)) as client,
        client.stream("POST", url + "/v1/chat/completions", json=CHAT, headers=headers) as response,
    ):
        for chunk in response.iter_raw():
            raw += chunk
    assert raw.count(b": keep-alive") >= 4
    assert raw.replace(b": keep-alive\n\n", b"") == b"".join(EVENTS)


def test_a_client_leaving_during_a_live_stall_is_client_closed(door) -> None:  # type: ignore[no-untyped-def]
    url, running = door
    headers = {"x-faultkit-fault": "type=stall;stall_ms=3000;after_events=1"}
    parser = SSEParser()
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", url + "/v1/chat/completions", json=CHAT, headers=headers) as response,
    ):
        for chunk in response.iter_raw():
            if parser.feed(chunk):
                break  # the first event: leave during the stall
    deadline = time.monotonic() + 10
    while (entries := running.ledger()) and entries[-1]["ending"] == "pending":
        assert time.monotonic() < deadline, entries
        time.sleep(0.1)
    assert entries[-1]["ending"] == "client_closed"
    times, error, _ = _stream(url, None)  # the door goes on answering
    assert error is None and len(times) == len(EVENTS)
