"""The control API answers a local test tool only: no foreign Host (DNS rebinding), no foreign
Origin (a web page), no simple-content-type body (a CSRF POST), no network-facing listener
without --allow-remote. Against the real proxy process, over real sockets."""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from proxy_process import SUPPORT_CASSETTES, ProxyFactory

toxiproxy = pytest.importorskip("toxiproxy")
from toxiproxy.api import APIConsumer  # noqa: E402

LATENCY = {"name": "slow", "type": "latency", "latency_ms": 5}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    factory = ProxyFactory(tmp_path_factory.mktemp("exposure"))
    yield factory("--cassettes", str(SUPPORT_CASSETTES))
    factory.close()


def raw(control: str, request: bytes) -> tuple[int, bytes]:
    """Send one raw request (headers exactly as given) and return (status, body)."""
    host, port = control.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def faults(served) -> dict:
    return httpx.get(served.control + "/faultkit/faults", timeout=5).json()


@pytest.mark.parametrize(
    "path",
    ["/faultkit/ledger", "/faultkit/doors", "/proxies", "/version"],
)
def test_foreign_host_is_refused_even_for_reads(served, path) -> None:
    """DNS rebinding: a page at evil.example whose name now resolves to 127.0.0.1 reads the
    answers, so a read is refused as surely as a change."""
    status, body = raw(
        served.control,
        f"GET {path} HTTP/1.1\r\nHost: evil.example:8474\r\nConnection: close\r\n\r\n".encode(),
    )
    assert status == 403
    assert "evil.example" in json.loads(body)["error"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:8474", "[::1]:8474", "127.0.0.7"])
def test_loopback_host_names_are_served(served, host) -> None:
    status, body = raw(
        served.control,
        f"GET /faultkit/doors HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode(),
    )
    assert status == 200
    assert json.loads(body)["control"] == served.control


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "https://127.0.0.1.evil.io"])
def test_foreign_origin_is_refused(served, origin) -> None:
    before = faults(served)
    reply = httpx.post(
        served.control + "/faultkit/faults",
        json=LATENCY,
        headers={"Origin": origin, "User-Agent": "curl/8"},
        timeout=5,
    )
    assert reply.status_code == 403
    assert "Origin" in reply.json()["error"]
    assert faults(served) == before
    assert (
        httpx.get(
            served.control + "/faultkit/ledger", headers={"Origin": origin}, timeout=5
        ).status_code
        == 403
    )


def test_loopback_origin_is_served(served) -> None:
    reply = httpx.get(
        served.control + "/faultkit/doors",
        headers={"Origin": "http://localhost:3000"},
        timeout=5,
    )
    assert reply.status_code == 200


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        None,
    ],
)
@pytest.mark.parametrize("path", ["/faultkit/faults", "/faultkit/scenario", "/proxies"])
def test_simple_content_types_cannot_change_anything(served, content_type, path) -> None:
    """What a page can send without a preflight (no user agent, as a CSRF probe would)."""
    before = (faults(served), httpx.get(served.control + "/proxies", timeout=5).json())
    body = {
        "/faultkit/faults": json.dumps(LATENCY),
        "/faultkit/scenario": "name: evil\nrules:\n  - fault: {type: latency, latency_ms: 9}\n",
        "/proxies": json.dumps({"name": "evil", "listen": "127.0.0.1:0", "upstream": "x:1"}),
    }[path].encode()
    type_line = f"Content-Type: {content_type}\r\n" if content_type else ""
    status, reply = raw(
        served.control,
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{type_line}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body,
    )
    assert status == 415
    assert "application/json" in json.loads(reply)["error"]
    after = (faults(served), httpx.get(served.control + "/proxies", timeout=5).json())
    assert after == before
    assert httpx.get(served.control + "/faultkit/scenario", timeout=5).json() is None


def test_json_and_yaml_bodies_are_accepted(served) -> None:
    added = httpx.post(served.control + "/faultkit/faults", json=LATENCY, timeout=5)
    assert added.status_code == 200
    assert "slow" in faults(served)
    scenario = "name: calm\nrules: []\n"
    loaded = httpx.post(
        served.control + "/faultkit/scenario?activate=0",
        content=scenario,
        headers={"Content-Type": "application/yaml"},
        timeout=5,
    )
    assert loaded.status_code == 200 and loaded.json()["name"] == "calm"
    # A bodiless POST (toxiproxy-python's reset sends no Content-Type) is served.
    assert httpx.post(served.control + "/faultkit/reset", timeout=5).status_code == 204
    assert faults(served) == {}


def test_non_loopback_listen_needs_allow_remote(served) -> None:
    for listen in ("0.0.0.0:0", "[::]:0"):
        reply = httpx.post(
            served.control + "/proxies",
            json={"name": "exposed", "listen": listen, "upstream": "127.0.0.1:1"},
            timeout=5,
        )
        assert reply.status_code == 400
        assert "--allow-remote" in reply.json()["error"]
    assert "exposed" not in httpx.get(served.control + "/proxies", timeout=5).json()
    # Nor through populate, nor by moving an existing proxy.
    populate = httpx.post(
        served.control + "/populate",
        json=[{"name": "exposed", "listen": "0.0.0.0:0", "upstream": "127.0.0.1:1"}],
        timeout=5,
    )
    assert populate.status_code == 400
    moved = httpx.post(served.control + "/proxies/openai", json={"listen": "0.0.0.0:0"}, timeout=5)
    assert moved.status_code == 400
    listens = [
        p["listen"] for p in httpx.get(served.control + "/proxies", timeout=5).json().values()
    ]
    assert listens and all(listen.startswith("127.0.0.1:") for listen in listens)


def test_allow_remote_lets_a_proxy_listen_on_every_interface(tmp_path) -> None:
    factory = ProxyFactory(tmp_path)
    try:
        served = factory("--cassettes", str(SUPPORT_CASSETTES), "--allow-remote")
        reply = httpx.post(
            served.control + "/proxies",
            json={"name": "wide", "listen": "0.0.0.0:0", "upstream": "127.0.0.1:1"},
            timeout=5,
        )
        assert reply.status_code == 201
        assert reply.json()["listen"].startswith("0.0.0.0:")
    finally:
        factory.close()


def test_toxiproxy_python_still_drives_it(served) -> None:
    """toxiproxy-python 0.1.1 unchanged: JSON bodies, a bodiless reset, DELETE."""
    host, port = served.control.removeprefix("http://").rsplit(":", 1)
    saved = (APIConsumer.host, APIConsumer.port)
    client = toxiproxy.Toxiproxy()
    client.update_api_consumer(host, int(port))
    try:
        created = client.create(upstream="127.0.0.1:1", name="py", listen="127.0.0.1:0")
        created.add_toxic(type="latency", attributes={"latency": 10})
        assert set(created.toxics()) == {"latency_downstream"}
        created.disable()
        created.enable()
        assert client.reset() is True
        assert created.toxics() == {}
        assert client.destroy(created) is True
        assert "py" not in client.proxies()
    finally:
        APIConsumer.host, APIConsumer.port = saved
