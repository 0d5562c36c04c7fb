"""§11.B and §11.E: proxy CRUD, enable/disable ("down"), listen handling, reset."""

from __future__ import annotations

import socket
import time

import httpx
from _toxiproxy_helpers import Upstream, connect, free_port, reachable, reads_eof, recv_exactly


def create(api: httpx.Client, name: str, upstream: str, listen: str, **extra: object) -> dict:
    reply = api.post(
        "/proxies", json={"name": name, "upstream": upstream, "listen": listen, **extra}
    )
    assert reply.status_code == 201, reply.text
    return reply.json()


def test_no_proxies_is_empty_object(api: httpx.Client) -> None:
    reply = api.get("/proxies")
    assert (reply.status_code, reply.json()) == (200, {})


def test_missing_name_then_upstream(api: httpx.Client) -> None:
    reply = api.post("/proxies", json={"name": "", "listen": "", "upstream": "", "enabled": True})
    assert (reply.status_code, reply.json()["error"]) == (400, "missing required field: name")
    reply = api.post("/proxies", json={"name": "test", "listen": "", "upstream": ""})
    assert (reply.status_code, reply.json()["error"]) == (400, "missing required field: upstream")


def test_malformed_or_empty_body(api: httpx.Client) -> None:
    for body in (b"{bad", b"", b'{"name": 5, "upstream": "127.0.0.1:1"}', b'{"enabled": "yes"}'):
        reply = api.post("/proxies", content=body)
        assert reply.status_code == 400
        assert reply.json()["error"].startswith("bad request body: ")
    assert api.post("/proxies", content=b"").json()["error"] == "bad request body: EOF"


def test_create_resolves_listen_and_is_reachable(api: httpx.Client) -> None:
    port = free_port()
    proxy = create(api, "mysql_master", "localhost:20001", f"localhost:{port}")
    assert proxy == {
        "name": "mysql_master",
        "listen": f"127.0.0.1:{port}",
        "upstream": "localhost:20001",
        "enabled": True,
        "toxics": [],
    }
    assert api.get("/proxies").json() == {"mysql_master": proxy}
    assert api.get("/proxies/mysql_master").json() == proxy
    assert reachable(proxy["listen"])


def test_port_zero_gets_a_real_port(api: httpx.Client) -> None:
    proxy = create(api, "p", "localhost:1", "127.0.0.1:0")
    assert not proxy["listen"].endswith(":0")
    assert reachable(proxy["listen"])


def test_keys_match_case_insensitively_and_unknown_keys_are_ignored(api: httpx.Client) -> None:
    reply = api.post(
        "/proxies",
        json={
            "Name": "p",
            "UPSTREAM": "127.0.0.1:1",
            "listen": "127.0.0.1:0",
            "toxics": None,
            "x": 1,
        },
    )
    assert reply.status_code == 201
    assert reply.json()["name"] == "p"
    assert reply.json()["upstream"] == "127.0.0.1:1"


def test_created_disabled_keeps_listen_verbatim_then_enable_disable(api: httpx.Client) -> None:
    port = free_port()
    proxy = create(api, "mysql_master", "localhost:20001", f"localhost:{port}", enabled=False)
    assert (proxy["listen"], proxy["enabled"]) == (f"localhost:{port}", False)
    assert not reachable(f"127.0.0.1:{port}")
    enabled = api.post("/proxies/mysql_master", json={"enabled": True}).json()
    assert enabled["enabled"] is True
    assert reachable(f"127.0.0.1:{port}")
    disabled = api.patch("/proxies/mysql_master", json={"enabled": False})
    assert disabled.status_code == 200
    assert not reachable(f"127.0.0.1:{port}")


def test_bind_conflict_is_500_and_creates_nothing(api: httpx.Client) -> None:
    port = free_port()
    create(api, "mysql_master", "localhost:20001", f"localhost:{port}")
    reply = api.post(
        "/proxies", json={"name": "test", "listen": f"localhost:{port}", "upstream": "127.0.0.1:1"}
    )
    assert reply.status_code == 500
    assert reply.json() == {
        "error": f"listen tcp 127.0.0.1:{port}: bind: address already in use",
        "status": 500,
    }
    assert "test" not in api.get("/proxies").json()
    assert api.delete("/proxies/mysql_master").status_code == 204
    assert (
        api.post(
            "/proxies",
            json={"name": "test", "listen": f"localhost:{port}", "upstream": "127.0.0.1:1"},
        ).status_code
        == 201
    )


def test_duplicate_name_is_409_before_any_bind(api: httpx.Client) -> None:
    create(api, "mysql_master", "localhost:20001", "localhost:0")
    body = {"name": "mysql_master", "listen": f"localhost:{free_port()}", "upstream": "127.0.0.1:1"}
    reply = api.post("/proxies", json=body)
    assert (reply.status_code, reply.json()["error"]) == (409, "proxy already exists")
    assert not reachable(body["listen"].replace("localhost", "127.0.0.1"))
    api.delete("/proxies/mysql_master")
    assert api.post("/proxies", json=body).status_code == 201


def test_delete(api: httpx.Client) -> None:
    proxy = create(api, "mysql_master", "localhost:20001", "127.0.0.1:0")
    reply = api.delete("/proxies/mysql_master")
    assert (reply.status_code, reply.content) == (204, b"")
    assert not reachable(proxy["listen"])
    assert api.get("/proxies").json() == {}
    reply = api.delete("/proxies/mysql_master")
    assert (reply.status_code, reply.json()["error"]) == (404, "proxy not found")


def test_unknown_proxy_is_404_on_every_route(api: httpx.Client) -> None:
    calls = [
        ("GET", "/proxies/nope"),
        ("POST", "/proxies/nope"),
        ("PATCH", "/proxies/nope"),
        ("DELETE", "/proxies/nope"),
        ("GET", "/proxies/nope/toxics"),
        ("POST", "/proxies/nope/toxics"),
        ("GET", "/proxies/nope/toxics/t"),
        ("PATCH", "/proxies/nope/toxics/t"),
        ("DELETE", "/proxies/nope/toxics/t"),
    ]
    for method, path in calls:
        reply = api.request(method, path, json={})
        assert (reply.status_code, reply.json()["error"]) == (404, "proxy not found"), path


def test_update_listen_moves_the_proxy(api: httpx.Client) -> None:
    old = create(api, "p", "127.0.0.1:1", "127.0.0.1:0")["listen"]
    reply = api.post("/proxies/p", json={"listen": "localhost:0"})
    assert reply.status_code == 200
    new = reply.json()["listen"]
    assert new not in (old, "localhost:0")
    assert reachable(new) and not reachable(old)
    assert api.patch("/proxies/p", json={"listen": new}).json()["listen"] == new
    assert reachable(new)
    api.patch("/proxies/p", json={"enabled": False})
    assert not reachable(new)


def test_same_listen_by_hostname_keeps_connections(api: httpx.Client, echo: Upstream) -> None:
    listen = create(api, "p", echo.address, "127.0.0.1:0")["listen"]
    port = listen.rsplit(":", 1)[1]
    client = connect(listen)
    client.sendall(b"ping")
    assert recv_exactly(client, 4) == b"ping"
    body = {"listen": f"localhost:{port}", "upstream": echo.address, "enabled": True}
    assert api.post("/proxies/p", json=body).status_code == 200
    assert not reads_eof(client, 0.5)
    client.sendall(b"pong")
    assert recv_exactly(client, 4) == b"pong"
    assert reachable(listen)
    client.close()


def test_new_upstream_closes_connections_and_stays_on_listen(
    api: httpx.Client, echo: Upstream
) -> None:
    listen = create(api, "p", echo.address, "127.0.0.1:0")["listen"]
    client = connect(listen)
    client.sendall(b"x")
    recv_exactly(client, 1)
    other = Upstream()
    try:
        reply = api.post("/proxies/p", json={"upstream": other.address})
        assert reply.json()["listen"] == listen
        assert reads_eof(client, 2)
        again = connect(listen)
        again.sendall(b"y")
        assert recv_exactly(again, 1) == b"y"
        assert other.connection().wait_bytes(1) is not None
        again.close()
    finally:
        other.close()


def test_disable_drops_connections_and_enable_rebinds_same_port(
    api: httpx.Client, echo: Upstream
) -> None:
    listen = create(api, "p", echo.address, "127.0.0.1:0")["listen"]
    client = connect(listen)
    client.sendall(b"x")
    recv_exactly(client, 1)
    api.post("/proxies/p", json={"enabled": False})
    assert reads_eof(client, 2)
    assert echo.connection().eof.wait(2), "the upstream socket was not closed"
    assert not reachable(listen)
    assert api.post("/proxies/p", json={"enabled": True}).json()["listen"] == listen
    assert reachable(listen)


def test_enable_twice_and_disable_twice_are_noops(api: httpx.Client) -> None:
    listen = create(api, "p", "127.0.0.1:1", "127.0.0.1:0")["listen"]
    assert api.patch("/proxies/p", json={"enabled": True}).status_code == 200
    assert reachable(listen)
    api.patch("/proxies/p", json={"enabled": False})
    assert api.patch("/proxies/p", json={"enabled": False}).json()["enabled"] is False


def test_upstream_without_listener_closes_the_client_quickly(api: httpx.Client) -> None:
    listen = create(api, "p", f"127.0.0.1:{free_port()}", "127.0.0.1:0")["listen"]
    client = connect(listen)
    started = time.monotonic()
    assert reads_eof(client, 0.5)
    assert time.monotonic() - started < 0.5


def test_bytes_pass_through_exactly(api: httpx.Client, collector: Upstream) -> None:
    listen = create(api, "p", collector.address, "127.0.0.1:0")["listen"]
    big = bytes(range(256)) * 256  # 64 KiB
    for index, message in enumerate([[b"hello world"], [big], [b"first;", b"second"]]):
        client = connect(listen)
        for part in message:
            client.sendall(part)
        client.close()
        upstream = collector.connection(index)
        assert upstream.eof.wait(5)
        assert bytes(upstream.data) == b"".join(message)


def test_rename_is_ignored(api: httpx.Client) -> None:
    create(api, "p", "127.0.0.1:1", "127.0.0.1:0")
    assert api.post("/proxies/p", json={"name": "other"}).json()["name"] == "p"
    assert list(api.get("/proxies").json()) == ["p"]


def test_update_with_empty_body_is_400(api: httpx.Client) -> None:
    create(api, "p", "127.0.0.1:1", "127.0.0.1:0")
    reply = api.post("/proxies/p", content=b"")
    assert (reply.status_code, reply.json()["error"]) == (400, "bad request body: EOF")


def test_proxies_listed_sorted_by_name(api: httpx.Client) -> None:
    for name in ("b", "c", "a"):
        create(api, name, "127.0.0.1:1", "127.0.0.1:0")
    assert list(api.get("/proxies").json()) == ["a", "b", "c"]


# --- §11.E reset ---------------------------------------------------------------------------


def test_reset_removes_toxics_and_keeps_proxy_enabled(api: httpx.Client) -> None:
    listen = create(api, "mysql_master", "127.0.0.1:1", "127.0.0.1:0")["listen"]
    api.post(
        "/proxies/mysql_master/toxics",
        json={"type": "latency", "attributes": {"latency": 100, "jitter": 10}},
    )
    reply = api.post("/reset")
    assert (reply.status_code, reply.content) == (204, b"")
    proxy = api.get("/proxies/mysql_master").json()
    assert (proxy["enabled"], proxy["toxics"]) == (True, [])
    assert reachable(listen)


def test_reset_enables_disabled_proxy_at_same_listen(api: httpx.Client) -> None:
    listen = create(api, "p", "127.0.0.1:1", "127.0.0.1:0")["listen"]
    api.post("/proxies/p/toxics", json={"type": "latency", "attributes": {"latency": 10}})
    api.post("/proxies/p", json={"enabled": False})
    assert not reachable(listen)
    assert api.post("/reset").status_code == 204
    proxy = api.get("/proxies/p").json()
    assert (proxy["listen"], proxy["toxics"]) == (listen, [])
    assert reachable(listen)


def test_reset_restart_failure_is_500(api: httpx.Client) -> None:
    port = free_port()
    create(api, "p", "127.0.0.1:1", f"127.0.0.1:{port}", enabled=False)
    blocker = socket.create_server(("127.0.0.1", port))
    try:
        reply = api.post("/reset")
        assert reply.status_code == 500
        assert "address already in use" in reply.json()["error"]
    finally:
        blocker.close()
