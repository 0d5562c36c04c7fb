"""§11.H without Go: the exact request shapes the Go client and toxiproxy-cli send (§9)."""

from __future__ import annotations

import httpx
from _toxiproxy_helpers import reachable

GO_HEADERS = {
    "User-Agent": "toxiproxy-cli/2.12.0 (linux/amd64)",
    "Content-Type": "application/json",
}


def test_cli_session(api: httpx.Client) -> None:
    # create -l 127.0.0.1:0 -u localhost:20002 shopify_http (the Go client sends every field)
    body = {
        "name": "shopify_http",
        "listen": "127.0.0.1:0",
        "upstream": "localhost:20002",
        "enabled": True,
        "toxics": None,
    }
    created = api.post("/proxies", json=body, headers=GO_HEADERS)
    assert created.status_code == 201
    proxy = created.json()
    assert reachable(proxy["listen"])

    # toggle twice: GET, then POST the whole object with enabled flipped
    for enabled in (False, True):
        current = api.get("/proxies/shopify_http", headers=GO_HEADERS).json()
        toggled = api.post(
            "/proxies/shopify_http", json={**current, "enabled": enabled}, headers=GO_HEADERS
        )
        assert toggled.json()["enabled"] is enabled
    assert reachable(proxy["listen"])

    # toxic add --downstream --type=latency -n latency_downstream -a latency=1000 -a jitter=50
    added = api.post(
        "/proxies/shopify_http/toxics",
        json={
            "name": "latency_downstream",
            "type": "latency",
            "stream": "downstream",
            "toxicity": 0.99,
            "attributes": {"latency": 1000, "jitter": 50},
        },
        headers=GO_HEADERS,
    )
    assert added.status_code == 200
    # toxic update always sends toxicity
    updated = api.patch(
        "/proxies/shopify_http/toxics/latency_downstream",
        json={"attributes": {"jitter": 20}, "toxicity": 0.7},
        headers=GO_HEADERS,
    ).json()
    assert (updated["toxicity"], updated["attributes"]) == (0.7, {"latency": 1000, "jitter": 20})
    inspect = api.get("/proxies/shopify_http", headers=GO_HEADERS).json()
    assert [t["name"] for t in inspect["toxics"] if t["stream"] == "downstream"] == [
        "latency_downstream"
    ]
    assert (
        api.delete(
            "/proxies/shopify_http/toxics/latency_downstream", headers=GO_HEADERS
        ).status_code
        == 204
    )

    # the Go client omits an empty stream and sends null attributes
    for toxic_type, attributes in [
        ("bandwidth", {"rate": 1}),
        ("timeout", {"timeout": 10}),
        ("slicer", {"average_size": 64, "size_variation": 32, "delay": 10}),
        ("reset_peer", {"timeout": 2000}),
    ]:
        reply = api.post(
            "/proxies/shopify_http/toxics",
            json={"name": "", "type": toxic_type, "toxicity": 1, "attributes": attributes},
            headers=GO_HEADERS,
        )
        assert reply.json()["name"] == f"{toxic_type}_downstream"
        assert reply.json()["attributes"] == attributes
    listed = api.get("/proxies", headers=GO_HEADERS).json()
    assert len(listed["shopify_http"]["toxics"]) == 4

    assert api.post("/reset", content=b"", headers=GO_HEADERS).status_code == 204
    assert api.delete("/proxies/shopify_http", headers=GO_HEADERS).status_code == 204


def test_go_populate_sends_full_objects(api: httpx.Client) -> None:
    body = [
        {
            "name": "a",
            "listen": "127.0.0.1:0",
            "upstream": "127.0.0.1:1",
            "enabled": False,
            "toxics": None,
        },
    ]
    reply = api.post("/populate", json=body, headers=GO_HEADERS)
    assert reply.status_code == 201
    assert reply.json()["proxies"][0]["enabled"] is False  # Go users who omit enabled get this
