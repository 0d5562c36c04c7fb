"""§11.G: the real toxiproxy-python 0.1.1 client, unchanged, against our server.

The client keeps its API address in class attributes (default 127.0.0.1:8474); the tests point
them at a server on a free port, and one test uses the default port when it is free.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests
from _toxiproxy_helpers import ServerThread, free_port, reachable

toxiproxy_client = pytest.importorskip("toxiproxy", reason="toxiproxy-python is in the dev extra")
from toxiproxy.api import APIConsumer, validate_response  # noqa: E402
from toxiproxy.exceptions import NotFound, ProxyExists  # noqa: E402


@pytest.fixture
def client(toxiproxy: ServerThread, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setattr(APIConsumer, "host", "127.0.0.1")
    monkeypatch.setattr(APIConsumer, "port", toxiproxy.port)
    yield toxiproxy_client.Toxiproxy()


def test_create_returns_exactly_what_was_asked(client) -> None:  # type: ignore[no-untyped-def]
    listen = f"127.0.0.1:{free_port()}"
    proxy = client.create(
        upstream="localhost:3306", name="test_mysql_master", enabled=False, listen=listen
    )
    assert (proxy.name, proxy.upstream, proxy.enabled, proxy.listen) == (
        "test_mysql_master",
        "localhost:3306",
        False,
        listen,
    )
    with pytest.raises(ProxyExists):
        client.create(upstream="localhost:3306", name="test_mysql_master")


def test_missing_proxy(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get_proxy("invalid_proxy") is None
    assert client.destroy("invalid_proxy") is False


def test_disable_enable_and_toxics(client) -> None:  # type: ignore[no-untyped-def]
    proxy = client.create(upstream="localhost:3306", name="p")
    assert reachable(proxy.listen)
    proxy.disable()
    assert proxy.enabled is False
    assert not reachable(proxy.listen)
    proxy.enable()
    assert reachable(proxy.listen)
    assert client.get_proxy("p").listen == proxy.listen

    proxy.add_toxic(type="latency", attributes={"latency": 123})
    assert proxy.get_toxic("latency_downstream").attributes["latency"] == 123
    with proxy.down():
        assert not reachable(proxy.listen)
    assert reachable(proxy.listen)
    assert proxy.get_toxic("latency_downstream").attributes["latency"] == 123
    assert proxy.destroy_toxic("latency_downstream")
    assert proxy.toxics() == {}
    with pytest.raises(NotFound):
        proxy.destroy_toxic("latency_downstream")


def test_reset_reenables_and_clears(client) -> None:  # type: ignore[no-untyped-def]
    proxy = client.create(upstream="localhost:3306", name="p")
    proxy.add_toxic(type="latency", attributes={"latency": 123})
    proxy.disable()
    assert client.reset() is True
    assert reachable(proxy.listen)
    assert client.get_proxy("p").listen == proxy.listen
    assert proxy.toxics() == {}


def test_populate(client) -> None:  # type: ignore[no-untyped-def]
    first, second = free_port(), free_port()
    created = client.populate(
        [
            {"name": "one", "upstream": "localhost:3306", "listen": f"localhost:{first}"},
            {"name": "two", "upstream": "localhost:3306", "listen": f"localhost:{second}"},
        ]
    )
    assert len(created) == 2
    for proxy in created:
        host, port = proxy.listen.split(":")
        assert reachable(f"{host}:{port}")
    moved = free_port()
    again = client.populate(
        [{"name": "two", "upstream": "localhost:3306", "listen": f"localhost:{moved}"}]
    )
    assert [p.listen for p in again] == [f"127.0.0.1:{moved}"]
    assert reachable(f"127.0.0.1:{moved}")
    assert not reachable(f"127.0.0.1:{second}")


def test_running_version_and_unreachable_server(client) -> None:  # type: ignore[no-untyped-def]
    assert client.running() is True
    assert isinstance(client.version(), bytes)
    assert client.version().startswith(b'{"version": ')
    client.update_api_consumer("0.0.0.0", free_port())
    assert client.version() is None
    assert client.running() is False


def test_raw_requests(client) -> None:  # type: ignore[no-untyped-def]
    base = f"http://{APIConsumer.host}:{APIConsumer.port}"
    with pytest.raises(NotFound) as missing:
        validate_response(requests.get(f"{base}/not_found"))
    assert b"404 page not found\n" in missing.value.args[0]
    body = {"upstream": "localhost:3306", "name": "test_mysql_service"}
    APIConsumer.post("/proxies", json=body)
    with pytest.raises(ProxyExists):
        APIConsumer.post("/proxies", json=body)


def test_default_address_when_port_8474_is_free(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", 8474))
        except OSError:
            pytest.skip("port 8474 is in use here; the other tests cover the client on a free port")
    server = ServerThread(port=8474)
    try:
        monkeypatch.setattr(APIConsumer, "host", "127.0.0.1")
        monkeypatch.setattr(APIConsumer, "port", 8474)
        client = toxiproxy_client.Toxiproxy()
        assert client.running() is True
        proxy = client.create(upstream="localhost:3306", name="default_port")
        assert reachable(proxy.listen)
    finally:
        server.stop()
