"""§11.C: POST /populate (validate everything first, create or replace in order)."""

from __future__ import annotations

import httpx
from _toxiproxy_helpers import free_port, reachable


def local(port: int) -> str:
    return f"localhost:{port}"


def test_populate_creates_in_order_and_listens(api: httpx.Client) -> None:
    p1, p2 = free_port(), free_port()
    reply = api.post(
        "/populate",
        json=[
            {"name": "one", "listen": local(p1), "upstream": "localhost:7171", "enabled": True},
            {"name": "two", "listen": local(p2), "upstream": "localhost:7474", "enabled": True},
        ],
    )
    assert reply.status_code == 201
    proxies = reply.json()["proxies"]
    assert [p["name"] for p in proxies] == ["one", "two"]
    assert [p["listen"] for p in proxies] == [f"127.0.0.1:{p1}", f"127.0.0.1:{p2}"]
    assert all(reachable(p["listen"]) for p in proxies)


def test_enabled_defaults_to_true(api: httpx.Client) -> None:
    port = free_port()
    body = f'[{{"name":"test","listen":"localhost:{port}","upstream":"localhost:7171"}}]'
    assert api.post("/populate", content=body).status_code == 201
    assert list(api.get("/proxies").json()) == ["test"]
    assert reachable(f"127.0.0.1:{port}")


def test_disabled_entry_does_not_listen(api: httpx.Client) -> None:
    p1, p2 = free_port(), free_port()
    reply = api.post(
        "/populate",
        json=[
            {"name": "one", "listen": local(p1), "upstream": "127.0.0.1:1", "enabled": False},
            {"name": "two", "listen": local(p2), "upstream": "127.0.0.1:2", "enabled": True},
        ],
    )
    assert (reply.status_code, len(reply.json()["proxies"])) == (201, 2)
    assert not reachable(f"127.0.0.1:{p1}")
    assert reachable(f"127.0.0.1:{p2}")


def test_unchanged_entry_keeps_proxy_and_toxics_changed_one_is_replaced(api: httpx.Client) -> None:
    p1, p2, p3 = free_port(), free_port(), free_port()
    api.post("/proxies", json={"name": "one", "listen": local(p1), "upstream": "localhost:7171"})
    api.post("/proxies/one/toxics", json={"type": "latency", "attributes": {"latency": 5}})
    api.post("/proxies", json={"name": "two", "listen": local(p2), "upstream": "localhost:7474"})
    api.post("/proxies/two/toxics", json={"type": "latency", "attributes": {"latency": 5}})
    reply = api.post(
        "/populate",
        json=[
            {"name": "one", "listen": local(p1), "upstream": "localhost:7171"},
            {"name": "two", "listen": f"127.0.0.1:{p3}", "upstream": "localhost:7676"},
        ],
    )
    assert reply.status_code == 201
    one, two = reply.json()["proxies"]
    assert (one["listen"], two["listen"]) == (f"127.0.0.1:{p1}", f"127.0.0.1:{p3}")
    assert [t["type"] for t in one["toxics"]] == ["latency"]
    assert two["toxics"] == []
    assert reachable(one["listen"]) and reachable(two["listen"])
    assert not reachable(f"127.0.0.1:{p2}")


def test_invalid_entry_creates_nothing(api: httpx.Client) -> None:
    reply = api.post(
        "/populate",
        json=[
            {"name": "one", "listen": local(free_port()), "upstream": "127.0.0.1:1"},
            {"name": "", "listen": "", "enabled": True},
        ],
    )
    assert reply.status_code == 400
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.json() == {
        "error": "missing required field: name at proxy 2",
        "status": 400,
        "proxies": None,
    }
    assert api.get("/proxies").json() == {}
    reply = api.post("/populate", json=[{"name": "a", "listen": "", "upstream": ""}])
    assert reply.json()["error"] == "missing required field: upstream at proxy 1"


def test_first_failure_stops_and_keeps_what_was_applied(api: httpx.Client) -> None:
    p1 = free_port()
    reply = api.post(
        "/populate",
        json=[
            {"name": "one", "listen": local(p1), "upstream": "127.0.0.1:1"},
            {"name": "two", "listen": "local373", "upstream": "127.0.0.1:2"},
            {"name": "three", "listen": local(free_port()), "upstream": "127.0.0.1:3"},
        ],
    )
    assert reply.status_code == 500
    body = reply.json()
    assert body["error"] == "listen tcp: address local373: missing port in address"
    assert [p["name"] for p in body["proxies"]] == ["one"]
    assert list(api.get("/proxies").json()) == ["one"]
    assert reachable(f"127.0.0.1:{p1}")
    toxic = api.post("/proxies/one/toxics", json={"type": "latency"})
    assert toxic.status_code == 200


def test_object_instead_of_array_is_400(api: httpx.Client) -> None:
    reply = api.post("/populate", json={"name": "one", "upstream": "127.0.0.1:1"})
    assert reply.status_code == 400
    assert reply.json()["error"].startswith("bad request body: ")
    assert reply.json()["proxies"] is None


def test_unchanged_disabled_proxy_stays_disabled(api: httpx.Client) -> None:
    listen = local(free_port())
    api.post(
        "/proxies",
        json={"name": "one", "listen": listen, "upstream": "127.0.0.1:1", "enabled": False},
    )
    reply = api.post(
        "/populate",
        json=[{"name": "one", "listen": listen, "upstream": "127.0.0.1:1", "enabled": True}],
    )
    assert reply.status_code == 201
    assert reply.json()["proxies"][0]["enabled"] is True  # verbatim listen differs once resolved
    # A proxy created disabled keeps its unresolved listen; resolved, the entry is equal:
    api.post("/proxies/one", json={"enabled": False})
    resolved = api.get("/proxies/one").json()["listen"]
    reply = api.post(
        "/populate",
        json=[{"name": "one", "listen": resolved, "upstream": "127.0.0.1:1", "enabled": True}],
    )
    assert reply.json()["proxies"][0]["enabled"] is False
    assert not reachable(resolved)


def test_empty_array(api: httpx.Client) -> None:
    reply = api.post("/populate", json=[])
    assert (reply.status_code, reply.json()) == (201, {"proxies": None})


def test_null_body_populates_nothing(api: httpx.Client) -> None:
    reply = api.post("/populate", content=b"null")
    assert (reply.status_code, reply.json()) == (201, {"proxies": None})
