"""§11.A: the HTTP surface clients depend on (status codes, exact bodies, headers)."""

from __future__ import annotations

import json

import httpx
import pytest

from faultkit.doors.toxiproxy.api import VERSION


def test_routed_reply_carries_a_request_id(api: httpx.Client) -> None:
    reply = api.get("/version")
    assert len(reply.headers["X-Toxiproxy-Request-Id"]) >= 16
    assert (
        api.get("/version").headers["X-Toxiproxy-Request-Id"]
        != reply.headers["X-Toxiproxy-Request-Id"]
    )


def test_browser_user_agent_is_refused(api: httpx.Client) -> None:
    reply = api.get("/proxies", headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64)"})
    assert reply.status_code == 403
    assert reply.content == b"User agent not allowed\n"


@pytest.mark.parametrize("agent", ["Wget/2.1", "curl/8.0", "python-requests/2.31", "toxiproxy-cli"])
def test_other_user_agents_are_allowed(api: httpx.Client, agent: str) -> None:
    assert api.get("/proxies", headers={"User-Agent": agent}).status_code == 200


def test_version_body_is_exact(api: httpx.Client) -> None:
    reply = api.get("/version")
    assert reply.status_code == 200
    assert reply.content == f'{{"version": "{VERSION}"}}\n'.encode()
    assert reply.headers["Content-Type"] == "application/json;charset=utf-8"


@pytest.mark.parametrize("path", ["/not_found", "/proxies/", "/metrics", "/Proxies"])
def test_unknown_path_is_plain_404(api: httpx.Client, path: str) -> None:
    reply = api.get(path)
    assert reply.status_code == 404
    assert reply.content == b"404 page not found\n"
    assert "X-Toxiproxy-Request-Id" not in reply.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/proxies"), ("HEAD", "/version"), ("DELETE", "/reset"), ("GET", "/populate")],
)
def test_known_path_wrong_method_is_empty_405(api: httpx.Client, method: str, path: str) -> None:
    reply = api.request(method, path)
    assert reply.status_code == 405
    assert reply.content == b""


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/proxies", b"{bad", 400),
        ("POST", "/proxies", b"", 400),
        ("GET", "/proxies/nope", None, 404),
        ("DELETE", "/proxies/nope/toxics/x", None, 404),
    ],
)
def test_errors_are_json_with_matching_status(
    api: httpx.Client, method: str, path: str, body: bytes | None, status: int
) -> None:
    reply = api.request(method, path, content=body)
    assert reply.status_code == status
    assert reply.content.endswith(b"\n")
    error = json.loads(reply.content)
    assert isinstance(error["error"], str) and error["error"]
    assert error["status"] == status


def test_success_bodies_are_compact_json_without_newline(api: httpx.Client) -> None:
    reply = api.get("/proxies")
    assert reply.headers["Content-Type"] == "application/json"
    assert reply.content == b"{}"


def test_keep_alive_serves_several_requests_on_one_connection(api: httpx.Client) -> None:
    for _ in range(5):
        assert api.get("/proxies").status_code == 200
