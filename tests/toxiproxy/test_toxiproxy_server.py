"""Starting the door, and the extension points the HTTP fault proxy uses."""

from __future__ import annotations

import asyncio
import json
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
