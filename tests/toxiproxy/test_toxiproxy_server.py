"""Starting the door, and the extension points the HTTP fault proxy uses."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from _toxiproxy_helpers import free_port, reachable

from faultkit.doors.toxiproxy import (
    ApiRequest,
    ControlApiBindError,
    ToxicRejected,
    ToxiproxyServer,
    serve_control_api,
)
from faultkit.errors import FaultkitError


async def test_port_in_use_is_a_one_line_typed_error() -> None:
    async with ToxiproxyServer(port=0) as first:
        with pytest.raises(ControlApiBindError) as err:
            await ToxiproxyServer(port=first.port).start()
    assert isinstance(err.value, FaultkitError)
    message = str(err.value)
    assert f"127.0.0.1:{first.port}" in message and "address already in use" in message
    assert "\n" not in message


async def test_defaults_are_loopback_8474() -> None:
    server = ToxiproxyServer()
    assert (server.host, server.port, server.is_loopback) == ("127.0.0.1", 8474, True)
    assert not ToxiproxyServer("0.0.0.0").is_loopback


async def test_hostless_listen_binds_the_api_host_not_every_interface() -> None:
    async with ToxiproxyServer(port=0) as server, httpx.AsyncClient(base_url=server.url) as api:
        reply = await api.post("/proxies", json={"name": "p", "upstream": "127.0.0.1:1"})
        assert reply.json()["listen"].startswith("127.0.0.1:")


async def test_stop_closes_proxies_and_api() -> None:
    server = await serve_control_api(port=0)
    async with httpx.AsyncClient(base_url=server.url) as api:
        listen = (await api.post("/proxies", json={"name": "p", "upstream": "127.0.0.1:1"})).json()[
            "listen"
        ]
    await server.stop()
    assert not reachable(listen)
    assert not reachable(f"127.0.0.1:{server.port}")


async def test_config_file_is_populated_at_start(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "toxiproxy.json"
    config.write_text(
        json.dumps([{"name": "db", "listen": f"127.0.0.1:{port}", "upstream": "127.0.0.1:1"}])
    )
    server = await serve_control_api(port=0, config_path=config)
    try:
        assert server.collection.proxies["db"].listen == f"127.0.0.1:{port}"
        assert reachable(f"127.0.0.1:{port}")
    finally:
        await server.stop()


async def test_bad_config_file_is_a_faultkit_error(tmp_path: Path) -> None:
    config = tmp_path / "toxiproxy.json"
    config.write_text('[{"name": ""}]')
    with pytest.raises(FaultkitError, match="missing required field: name at proxy 1"):
        await serve_control_api(port=0, config_path=config)
    with pytest.raises(FaultkitError, match="cannot read"):
        await serve_control_api(port=0, config_path=tmp_path / "missing.json")


class RecordingBridge:
    """A stand-in for the HTTP fault proxy: knows one extra toxic type."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []

    def toxic_types(self) -> list[str]:
        return ["http_error"]

    async def add_toxic(self, proxy_name: str, toxic: dict[str, Any]) -> dict[str, Any]:
        self.calls.append(("add", proxy_name, toxic))
        if toxic["attributes"].get("status", 500) < 400:
            raise ToxicRejected("status must be an HTTP error (>= 400)")
        return {"status": 500, **toxic["attributes"]}

    def update_toxic(self, proxy_name: str, toxic: dict[str, Any]) -> None:
        self.calls.append(("update", proxy_name, toxic))

    def remove_toxic(self, proxy_name: str, toxic_name: str) -> None:
        self.calls.append(("remove", proxy_name, toxic_name))


async def test_bridge_toxics_are_accepted_listed_and_forwarded() -> None:
    bridge = RecordingBridge()
    async with (
        ToxiproxyServer(port=0, bridge=bridge) as server,
        httpx.AsyncClient(base_url=server.url) as api,
    ):
        await api.post("/proxies", json={"name": "llm", "upstream": "127.0.0.1:1"})
        reply = await api.post(
            "/proxies/llm/toxics",
            json={"type": "http_error", "attributes": {"retry_after_s": 2.5}},
        )
        assert reply.status_code == 200
        assert reply.json()["attributes"] == {"status": 500, "retry_after_s": 2.5}
        assert bridge.calls[0][:2] == ("add", "llm")
        assert bridge.calls[0][2]["name"] == "http_error_downstream"

        refused = await api.post(
            "/proxies/llm/toxics",
            json={"name": "bad", "type": "http_error", "attributes": {"status": 200}},
        )
        assert refused.status_code == 400
        assert refused.json()["error"] == "status must be an HTTP error (>= 400)"

        await api.post("/proxies/llm/toxics", json={"type": "latency"})
        listed = (await api.get("/proxies/llm/toxics")).json()
        assert [t["type"] for t in listed] == ["http_error", "latency"]

        updated = await api.patch(
            "/proxies/llm/toxics/http_error_downstream", json={"attributes": {"status": 503}}
        )
        assert updated.json()["attributes"] == {"status": 503, "retry_after_s": 2.5}
        assert bridge.calls[-1][0] == "update"

        assert (await api.post("/reset")).status_code == 204
        assert ("remove", "llm", "http_error_downstream") in bridge.calls
        assert (await api.get("/proxies/llm/toxics")).json() == []


async def test_unknown_type_is_still_invalid_with_a_bridge() -> None:
    async with (
        ToxiproxyServer(port=0, bridge=RecordingBridge()) as server,
        httpx.AsyncClient(base_url=server.url) as api,
    ):
        await api.post("/proxies", json={"name": "llm", "upstream": "127.0.0.1:1"})
        reply = await api.post("/proxies/llm/toxics", json={"type": "nope"})
        # Toxiproxy's words, and the known type it is probably a typo of.
        assert reply.json()["error"] == "invalid toxic type; did you mean 'noop'?"


async def test_extra_routes() -> None:
    seen: list[ApiRequest] = []

    async def ledger(request: ApiRequest) -> tuple[int, dict[str, str], bytes]:
        seen.append(request)
        return 200, {"Content-Type": "application/json"}, b'{"entries":[]}'

    routes = {("GET", "/faultkit/ledger"): ledger, ("*", "/faultkit/any"): ledger}
    async with (
        ToxiproxyServer(port=0, extra_routes=routes) as server,
        httpx.AsyncClient(base_url=server.url) as api,
    ):
        reply = await api.get("/faultkit/ledger?since=3")
        assert (reply.status_code, reply.json()) == (200, {"entries": []})
        assert "X-Toxiproxy-Request-Id" in reply.headers
        assert seen[0].query == "since=3"
        assert (await api.post("/faultkit/ledger")).status_code == 405
        assert (await api.delete("/faultkit/any/thing")).status_code == 200
        assert (await api.get("/faultkit/other")).status_code == 404
        assert (await api.get("/version")).status_code == 200


async def test_slow_handler_gets_503_and_still_completes() -> None:
    done = asyncio.Event()

    async def slow(request: ApiRequest) -> tuple[int, dict[str, str], bytes]:
        await asyncio.sleep(0.2)
        done.set()
        return 200, {}, b""

    async with ToxiproxyServer(port=0, extra_routes={("POST", "/faultkit/slow"): slow}) as server:
        server.api.handler_timeout_s = 0.05
        reply = await server.handle(ApiRequest("POST", "/faultkit/slow"))
        assert reply.status == 503
        assert b"<title>Timeout</title>" in reply.body
        await asyncio.wait_for(done.wait(), 2)


async def test_large_body_with_expect_100_continue_is_answered_at_once() -> None:
    entries = [
        {"name": f"p{i}", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"} for i in range(40)
    ]
    body = json.dumps(entries).encode()
    assert len(body) > 1024
    async with ToxiproxyServer(port=0) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        head = (
            f"POST /populate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            "Content-Type: application/json\r\nExpect: 100-continue\r\n\r\n"
        )
        writer.write(head.encode())
        interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.5)
        assert interim.startswith(b"HTTP/1.1 100 ")
        writer.write(body)
        status = await asyncio.wait_for(reader.readline(), 5)
        assert status.startswith(b"HTTP/1.1 201 ")
        writer.close()


# -- the control API runs on the doors' own HTTP server (faultkit.doors.http1) ----------------


async def _exchange(port: int, data: bytes, *, until_closed: bool = True) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    try:
        if until_closed:
            return await asyncio.wait_for(reader.read(), 5)
        return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    finally:
        writer.close()


async def test_the_control_api_is_served_by_the_doors_http_server() -> None:
    from faultkit.doors import http1

    async with ToxiproxyServer(port=0) as server:
        assert server._listener is not None
        assert isinstance(server._listener, http1.Listener)
        reply = await _exchange(
            server.port, b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", until_closed=False
        )
        assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
        assert len(server._clients) == 1
        assert all(isinstance(c, http1.HttpConnection) for c in server._clients)


async def test_malformed_http_gets_400_in_toxiproxys_error_shape_and_the_api_keeps_serving() -> (
    None
):
    async with ToxiproxyServer(port=0) as server:
        reply = await _exchange(server.port, b"GET /version HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n")
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 ")
        assert b"connection: close" in head.lower()
        error = json.loads(body)
        assert error["status"] == 400 and "malformed HTTP request" in error["error"]
        again = await _exchange(
            server.port, b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        assert again.startswith(b"HTTP/1.1 200 ")


async def test_a_body_over_16_mib_is_413_and_nothing_is_created() -> None:
    async with ToxiproxyServer(port=0) as server:
        size = 16 * 1024 * 1024 + 1
        head = (
            f"POST /populate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {size}\r\n"
            "Content-Type: application/json\r\n\r\n"
        ).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(head + b"[" + b" " * (size - 2))
        writer.write(b"]")
        reply = await asyncio.wait_for(reader.read(1 << 16), 10)
        writer.close()
        head_part, _, body = reply.partition(b"\r\n\r\n")
        assert head_part.startswith(b"HTTP/1.1 413 ")
        assert json.loads(body) == {"error": "request body over 16 MiB", "status": 413}
        assert server.collection.proxies == {}


async def test_pipelined_requests_are_answered_in_order() -> None:
    async with ToxiproxyServer(port=0) as server:
        create = json.dumps({"name": "p", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"})
        data = (
            "POST /proxies HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(create)}\r\n\r\n{create}"
            "HEAD /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            "GET /proxies/p HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        ).encode()
        reply = await _exchange(server.port, data)
        statuses = re.findall(rb"HTTP/1\.1 (\d{3}) ", reply)
        assert statuses == [b"201", b"405", b"200"]  # HEAD is not a route (as in Toxiproxy)
        # Each reply is framed, so the next starts right after it: the last is proxy p's.
        assert reply.rsplit(b"\r\n\r\n", 1)[1].startswith(b'{"name":"p"')


async def test_a_change_is_made_whole_when_its_client_hangs_up_half_way() -> None:
    started = asyncio.Event()
    finished = asyncio.Event()

    async def slow(request: ApiRequest) -> tuple[int, dict[str, str], bytes]:
        started.set()
        await asyncio.sleep(0.3)
        finished.set()
        return 200, {}, b"{}"

    async with ToxiproxyServer(port=0, extra_routes={("POST", "/faultkit/slow"): slow}) as server:
        _reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(
            b"POST /faultkit/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2\r\n\r\n{}"
        )
        await asyncio.wait_for(started.wait(), 5)
        writer.transport.abort()
        await asyncio.wait_for(finished.wait(), 5)  # not cancelled with the connection


async def test_stop_closes_idle_keep_alive_connections() -> None:
    server = ToxiproxyServer(port=0)
    await server.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    await server.stop()
    rest = await asyncio.wait_for(reader.read(), 5)  # EOF or reset, not a hang
    assert b"HTTP/1.1" not in rest
    writer.close()
