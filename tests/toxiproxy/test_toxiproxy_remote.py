"""The TOXIPROXY_URL client, run against our own server (it speaks the same API)."""

from __future__ import annotations

import pytest
from _toxiproxy_helpers import ServerThread, Upstream, connect, free_port, reachable, recv_exactly

from faultkit.doors.toxiproxy import RemoteToxiproxyError, ToxiproxyServer
from faultkit.doors.toxiproxy.remote import AsyncToxiproxyClient, ToxiproxyClient


def test_from_env_reads_toxiproxy_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOXIPROXY_URL", "http://toxiproxy.internal:9999/")
    assert ToxiproxyClient.from_env().url == "http://toxiproxy.internal:9999"
    monkeypatch.delenv("TOXIPROXY_URL")
    assert ToxiproxyClient.from_env().url == "http://127.0.0.1:8474"


def test_proxy_and_toxic_lifecycle(toxiproxy: ServerThread, echo: Upstream) -> None:
    with ToxiproxyClient(toxiproxy.url) as client:
        assert client.version() == "2.12.0"
        proxy = client.create_proxy("svc", echo.address)
        assert reachable(proxy["listen"])
        toxic = client.add_toxic("svc", "latency", attributes={"latency": 50})
        assert toxic["name"] == "latency_downstream"
        updated = client.update_toxic("svc", "latency_downstream", attributes={"jitter": 5})
        assert updated["attributes"] == {"latency": 50, "jitter": 5}
        assert [t["name"] for t in client.toxics("svc")] == ["latency_downstream"]
        sock = connect(proxy["listen"])
        sock.sendall(b"hi")
        assert recv_exactly(sock, 2) == b"hi"
        sock.close()
        assert client.remove_toxic("svc", "latency_downstream") is None
        assert client.update_proxy("svc", enabled=False)["enabled"] is False
        assert not reachable(proxy["listen"])
        client.reset()
        assert client.proxy("svc")["enabled"] is True
        assert list(client.proxies()) == ["svc"]
        populated = client.populate(
            [{"name": "other", "upstream": "127.0.0.1:1", "listen": "127.0.0.1:0"}]
        )
        assert populated["proxies"][0]["name"] == "other"
        client.delete_proxy("svc")
        assert list(client.proxies()) == ["other"]


def test_refusals_carry_toxiproxys_message(toxiproxy: ServerThread) -> None:
    with ToxiproxyClient(toxiproxy.url) as client:
        client.create_proxy("svc", "127.0.0.1:1")
        with pytest.raises(RemoteToxiproxyError, match="HTTP 409: proxy already exists") as err:
            client.create_proxy("svc", "127.0.0.1:1")
        assert err.value.status == 409
        with pytest.raises(RemoteToxiproxyError, match="HTTP 404: proxy not found"):
            client.add_toxic("nope", "latency")


def test_unreachable_server_is_one_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with ToxiproxyClient(url, timeout_s=2) as client, pytest.raises(RemoteToxiproxyError) as err:
        client.proxies()
    assert f"cannot reach Toxiproxy at {url}" in str(err.value)
    assert "TOXIPROXY_URL" in str(err.value)


async def test_async_client() -> None:
    async with ToxiproxyServer(port=0) as server, AsyncToxiproxyClient(server.url) as client:
        proxy = await client.create_proxy("svc", "127.0.0.1:1")
        assert proxy["name"] == "svc"
        await client.add_toxic("svc", "timeout", stream="upstream", attributes={"timeout": 5})
        assert [t["type"] for t in await client.toxics("svc")] == ["timeout"]
        await client.reset()
        assert await client.toxics("svc") == []
