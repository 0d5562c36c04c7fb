"""A small HTTP/1.1 server for the control API: h11 for the protocol, asyncio for the sockets.

Keep-alive, bodies up to ``MAX_BODY`` bytes, an idle timeout like Toxiproxy's (60 s). Each
request becomes an ``ApiRequest``; the reply is written with a ``Content-Length``.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
from collections.abc import Awaitable, Callable

import h11

from faultkit.doors.toxiproxy.api import ApiRequest, ApiResponse

MAX_BODY = 16 * 1024 * 1024
IDLE_TIMEOUT_S = 60.0
READ_TIMEOUT_S = 15.0

Handler = Callable[[ApiRequest], Awaitable[ApiResponse]]


class _Closed(Exception):
    """The client went away or broke the protocol; drop the connection."""


async def serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler
) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
    try:
        while True:
            try:
                request = await _read_request(conn, reader, writer)
            except h11.RemoteProtocolError as exc:
                await _send_error(conn, writer, exc.error_status_hint)
                return
            if request is None:
                return
            if request is False:
                await _send(conn, writer, ApiResponse(413), close=True)
                return
            response = await handler(request)
            await _send(conn, writer, response, head=request.method == "HEAD")
            if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                return
            conn.start_next_cycle()
    except (TimeoutError, _Closed, OSError, h11.LocalProtocolError):
        return
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _next_event(conn: h11.Connection, reader: asyncio.StreamReader, timeout: float) -> object:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            return event
        data = await asyncio.wait_for(reader.read(65536), timeout)
        conn.receive_data(data)


async def _read_request(
    conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> ApiRequest | bool | None:
    """The next request; None when the client closed; False when its body is too large."""
    event = await _next_event(conn, reader, IDLE_TIMEOUT_S)
    if isinstance(event, h11.ConnectionClosed):
        return None
    if not isinstance(event, h11.Request):
        raise _Closed
    if conn.they_are_waiting_for_100_continue:  # curl, for bodies over 1 KiB
        writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])) or b"")
    body = bytearray()
    while True:
        part = await _next_event(conn, reader, READ_TIMEOUT_S)
        if isinstance(part, h11.Data):
            body += part.data
            if len(body) > MAX_BODY:
                return False
        elif isinstance(part, h11.EndOfMessage):
            break
        else:
            raise _Closed
    target = event.target.decode("latin-1")
    path, _, query = target.partition("?")
    headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers)
    return ApiRequest(event.method.decode("ascii"), path, query, headers, bytes(body))


async def _send(
    conn: h11.Connection,
    writer: asyncio.StreamWriter,
    response: ApiResponse,
    *,
    close: bool = False,
    head: bool = False,
) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"Date", email.utils.formatdate(usegmt=True).encode()))
    has_body = response.status not in (204, 304)
    if has_body:
        headers.append((b"Content-Length", str(len(response.body)).encode()))
    if close:
        headers.append((b"Connection", b"close"))
    data = conn.send(h11.Response(status_code=response.status, headers=headers))
    if response.body and has_body and not head:
        data = (data or b"") + (conn.send(h11.Data(data=response.body)) or b"")
    data = (data or b"") + (conn.send(h11.EndOfMessage()) or b"")
    writer.write(data)
    await writer.drain()


async def _send_error(conn: h11.Connection, writer: asyncio.StreamWriter, status: int) -> None:
    if conn.our_state is not h11.SEND_RESPONSE and conn.our_state is not h11.IDLE:
        return
    with contextlib.suppress(h11.LocalProtocolError, OSError):
        await _send(conn, writer, ApiResponse(status, (), b""), close=True)
