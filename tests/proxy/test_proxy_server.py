"""The proxy's HTTP/1.1 server (httptools): pipelining, ``100 Continue``, limits, bad input.

The server runs in the test's loop with a handler that echoes what it parsed, and a raw socket
client sends exactly the bytes under test.
"""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from faultkit.doors import http1 as server_module
from faultkit.doors.http1 import HttpConnection, IncomingRequest, listen


async def echo(request: IncomingRequest, conn: HttpConnection) -> bool:
    body = json.dumps(
        {
            "method": request.method,
            "target": request.target,
            "headers": [list(h) for h in request.headers],
            "body": request.body.decode("latin-1"),
            "http11": request.http11,
        }
    ).encode()
    head = b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % len(body)
    conn.write(head + body)
    return True


async def exchange(data: bytes, *, until_close: bool = True, timeout: float = 3) -> bytes:
    listener = await listen(echo, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    writer.write(data)
    chunks = []
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), timeout)
            if not chunk:
                break
            chunks.append(chunk)
            if not until_close:
                break
    except TimeoutError:
        pass
    writer.close()
    listener.server.close()
    return b"".join(chunks)


def answers(raw: bytes) -> list[dict]:
    return [json.loads(m) for m in re.findall(rb"\r\n\r\n(\{.*?\})(?=HTTP/|$)", raw)]


async def test_pipelined_requests_are_answered_in_order_with_their_bodies() -> None:
    data = (
        b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        b"GET /b?q=1 HTTP/1.1\r\nHost: x\r\nX-Thing: v\r\n\r\n"
        b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        b"2\r\nhi\r\n0\r\n\r\n"
    )
    got = answers(await exchange(data))
    assert [(a["method"], a["target"], a["body"]) for a in got] == [
        ("POST", "/a", "abc"),
        ("GET", "/b?q=1", ""),
        ("POST", "/c", "hi"),
    ]
    assert ["X-Thing", "v"] in got[1]["headers"]  # names keep the client's spelling


async def test_a_client_expecting_100_continue_gets_it_before_sending_the_body() -> None:
    listener = await listen(echo, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    writer.write(
        b"POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
    )
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"data")
    final = await asyncio.wait_for(reader.readuntil(b"}"), 3)
    assert json.loads(final.split(b"\r\n\r\n", 1)[1])["body"] == "data"
    writer.close()
    listener.server.close()


async def test_garbage_after_a_good_request_gets_a_400_after_its_answer() -> None:
    raw = await exchange(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\nNOT HTTP AT ALL\r\n\r\n")
    statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", raw)
    assert statuses == [b"200", b"400"]
    assert b'"faultkit_bad_request"' in raw


async def test_an_oversized_head_is_a_400_not_unbounded_memory() -> None:
    raw = await exchange(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 ") and b"64 KiB" in raw


async def test_an_oversized_url_is_a_400() -> None:
    raw = await exchange(b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 400 ")


async def test_an_oversized_body_is_a_413(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_module, "MAX_BODY_BYTES", 10)
    raw = await exchange(b"POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n" + b"x" * 20)
    assert raw.startswith(b"HTTP/1.1 413 ") and b"faultkit_too_large" in raw


async def test_a_request_cut_off_by_the_client_is_a_400() -> None:
    listener = await listen(echo, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
    writer.write(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc")
    writer.write_eof()
    raw = await asyncio.wait_for(reader.read(), 3)
    assert raw.startswith(b"HTTP/1.1 400 ")
    writer.close()
    listener.server.close()


async def test_an_upgrade_request_is_answered_then_the_connection_closes() -> None:
    raw = await exchange(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
        b"\x81\x05hello"
    )
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", raw) == [b"200"]
    assert answers(raw)[0]["target"] == "/ws"


async def test_http10_request_is_parsed_as_such() -> None:
    got = answers(await exchange(b"GET /old HTTP/1.0\r\n\r\n"))
    assert got[0]["http11"] is False
