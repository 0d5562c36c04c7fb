"""A small client for a real Toxiproxy server (or faultkit's own), over its REST API.

Used when ``TOXIPROXY_URL`` names an external Toxiproxy that faultkit should drive instead of
starting its own door. Both flavours share one set of methods: ``ToxiproxyClient`` returns
values, ``AsyncToxiproxyClient`` returns awaitables. Every refusal or connection failure is a
``RemoteToxiproxyError`` naming the server, the request and Toxiproxy's own error text.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import quote

import httpx

from faultkit.doors.toxiproxy.errors import RemoteToxiproxyError

ENV_VAR = "TOXIPROXY_URL"
DEFAULT_URL = "http://127.0.0.1:8474"
USER_AGENT = "faultkit-toxiproxy-client"


def _p(name: str) -> str:
    return quote(name, safe="")


class _Calls:
    """The API calls, described once; ``_send`` (sync or async) performs them."""

    url: str

    def _send(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Any:
        raise NotImplementedError

    def version(self) -> Any:
        return self._send("GET", "/version")

    def proxies(self) -> Any:
        """All proxies, keyed by name."""
        return self._send("GET", "/proxies")

    def proxy(self, name: str) -> Any:
        return self._send("GET", f"/proxies/{_p(name)}")

    def create_proxy(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> Any:
        body = {"name": name, "upstream": upstream, "listen": listen, "enabled": enabled}
        return self._send("POST", "/proxies", body, ok=(201,))

    def update_proxy(self, name: str, **fields: Any) -> Any:
        """Change ``listen``, ``upstream`` and/or ``enabled`` (``enabled=False`` = down)."""
        return self._send("POST", f"/proxies/{_p(name)}", fields)

    def delete_proxy(self, name: str) -> Any:
        return self._send("DELETE", f"/proxies/{_p(name)}", ok=(204,))

    def populate(self, proxies: list[dict[str, Any]]) -> Any:
        return self._send("POST", "/populate", proxies, ok=(201,))

    def toxics(self, proxy: str) -> Any:
        return self._send("GET", f"/proxies/{_p(proxy)}/toxics")

    def add_toxic(
        self,
        proxy: str,
        type: str,
        *,
        stream: str = "downstream",
        name: str = "",
        toxicity: float = 1.0,
        attributes: dict[str, Any] | None = None,
    ) -> Any:
        body = {
            "name": name,
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": attributes or {},
        }
        return self._send("POST", f"/proxies/{_p(proxy)}/toxics", body)

    def update_toxic(
        self,
        proxy: str,
        name: str,
        *,
        attributes: dict[str, Any] | None = None,
        toxicity: float | None = None,
    ) -> Any:
        body: dict[str, Any] = {"attributes": attributes or {}}
        if toxicity is not None:
            body["toxicity"] = toxicity
        return self._send("PATCH", f"/proxies/{_p(proxy)}/toxics/{_p(name)}", body)

    def remove_toxic(self, proxy: str, name: str) -> Any:
        return self._send("DELETE", f"/proxies/{_p(proxy)}/toxics/{_p(name)}", ok=(204,))

    def reset(self) -> Any:
        """Re-enable every proxy and remove every toxic."""
        return self._send("POST", "/reset", ok=(204,))

    # --- shared request/response handling ------------------------------------------------

    def _request(self, method: str, path: str, body: Any) -> dict[str, Any]:
        request: dict[str, Any] = {"method": method, "url": path}
        if body is not None:
            request["content"] = json.dumps(body).encode()
            request["headers"] = {"Content-Type": "application/json"}
        return request

    def _result(self, method: str, path: str, response: httpx.Response, ok: tuple[int, ...]) -> Any:
        if response.status_code not in ok:
            try:
                message = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = response.text.strip() or response.reason_phrase
            raise RemoteToxiproxyError(
                f"Toxiproxy at {self.url}: {method} {path} failed: "
                f"HTTP {response.status_code}: {message}",
                status=response.status_code,
            )
        if response.status_code == 204 or not response.content:
            return None
        if path == "/version":
            try:
                return response.json()["version"]
            except (ValueError, KeyError, TypeError):
                return response.text  # Toxiproxy < 2.7 answers plain text
        return response.json()

    def _unreachable(self, method: str, path: str, exc: Exception) -> RemoteToxiproxyError:
        return RemoteToxiproxyError(
            f"cannot reach Toxiproxy at {self.url} ({method} {path}): {exc}; "
            f"is it running? (set {ENV_VAR} to its address)"
        )


class ToxiproxyClient(_Calls):
    """Blocking client. ``ToxiproxyClient.from_env()`` reads ``TOXIPROXY_URL``."""

    def __init__(self, url: str = DEFAULT_URL, *, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout_s, headers={"User-Agent": USER_AGENT}
        )

    @classmethod
    def from_env(cls, default: str = DEFAULT_URL) -> ToxiproxyClient:
        return cls(os.environ.get(ENV_VAR) or default)

    def _send(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Any:
        try:
            response = self._http.request(**self._request(method, path, body))
        except httpx.HTTPError as exc:
            raise self._unreachable(method, path, exc) from None
        return self._result(method, path, response, ok)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ToxiproxyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncToxiproxyClient(_Calls):
    """Asyncio client: the same methods, each returning an awaitable."""

    def __init__(self, url: str = DEFAULT_URL, *, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=self.url, timeout=timeout_s, headers={"User-Agent": USER_AGENT}
        )

    @classmethod
    def from_env(cls, default: str = DEFAULT_URL) -> AsyncToxiproxyClient:
        return cls(os.environ.get(ENV_VAR) or default)

    async def _send(  # type: ignore[override]
        self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)
    ) -> Any:
        try:
            response = await self._http.request(**self._request(method, path, body))
        except httpx.HTTPError as exc:
            raise self._unreachable(method, path, exc) from None
        return self._result(method, path, response, ok)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncToxiproxyClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
