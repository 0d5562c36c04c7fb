"""Start and stop the whole Toxiproxy-compatible door inside the caller's asyncio loop.

``ToxiproxyServer`` owns the control API listener and every proxy. It binds 127.0.0.1:8474 by
default (Toxiproxy's well-known port, which every client assumes); binding another host is the
caller's explicit choice. A port already in use raises ``ControlApiBindError``, a
``FaultkitError`` with a one-line message naming the address.

Requests over HTTP pass :mod:`.guard` first (loopback ``Host`` and ``Origin``, JSON bodies);
``allow_remote`` (default: whether ``host`` is a non-loopback address) accepts any ``Host`` and
lets proxies listen on non-loopback addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from pathlib import Path
from types import TracebackType

from faultkit.doors.toxiproxy import addresses, guard
from faultkit.doors.toxiproxy.api import (
    VERSION,
    ApiRequest,
    ApiResponse,
    ControlApi,
    ExtraRoutes,
    error_reply,
)
from faultkit.doors.toxiproxy.errors import ControlApiBindError
from faultkit.doors.toxiproxy.httpserver import serve_connection
from faultkit.doors.toxiproxy.proxies import Proxy, ProxyCollection, ToxicBridge
from faultkit.errors import FaultkitError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8474


class ToxiproxyServer:
    """Toxiproxy's control API plus the TCP proxies it manages.

    ``port=0`` picks a free port (read ``.port`` after ``start``). Proxies whose ``listen`` has
    no host bind ``host`` too. ``seed`` makes toxicity rolls, jitter and slicing repeatable.
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        bridge: ToxicBridge | None = None,
        extra_routes: ExtraRoutes | None = None,
        version: str = VERSION,
        seed: int | None = None,
        allow_remote: bool | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.allow_remote = (
            allow_remote if allow_remote is not None else not addresses.is_loopback(host or "")
        )
        self.collection = ProxyCollection(
            default_host=host if host not in ("", "localhost") else DEFAULT_HOST,
            rng=random.Random(seed),
            bridge=bridge,
            allow_remote=self.allow_remote,
        )
        self.api = ControlApi(self.collection, version=version, extra_routes=extra_routes)
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://{addresses.render(self.host, self.port)}"

    @property
    def is_loopback(self) -> bool:
        return addresses.is_loopback(self.host)

    async def start(self) -> None:
        try:
            ip, port = await addresses.resolve(addresses.render(self.host, self.port), self.host)
            sock = addresses.bind(ip, port)
        except addresses.BindError as exc:
            raise ControlApiBindError(self.host, self.port, exc.reason) from None
        except addresses.AddressError as exc:
            raise ControlApiBindError(self.host, self.port, str(exc)) from None
        self._server = await asyncio.start_server(self._on_client, sock=sock)
        self.host, self.port = ip, sock.getsockname()[1]

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            await serve_connection(reader, writer, self._guarded)
        finally:
            self._clients.discard(writer)

    async def _guarded(self, request: ApiRequest) -> ApiResponse:
        """An HTTP request: refused by :mod:`.guard`, or answered by the API."""
        refused = guard.refusal(
            request.method, request.header, len(request.body), any_host=self.allow_remote
        )
        if refused is not None:
            return error_reply(*refused)
        return await self.api.handle(request)

    async def handle(self, request: ApiRequest) -> ApiResponse:
        """Answer one API request without HTTP (for in-process callers and tests)."""
        return await self.api.handle(request)

    async def load_config(self, path: str | Path) -> list[Proxy]:
        """Create the proxies of a Toxiproxy ``-config`` file (the ``/populate`` JSON format)."""
        try:
            body = Path(path).read_bytes()
            json.loads(body)
        except (OSError, ValueError) as exc:
            raise FaultkitError(f"{path}: cannot read Toxiproxy config: {exc}") from None
        return await self.populate(body, f"{path}: Toxiproxy config")

    async def populate(self, body: bytes, source: str) -> list[Proxy]:
        """Create (or update) proxies from a ``/populate`` JSON array, exactly as the API
        would; a refusal is a FaultkitError naming ``source`` (the file or table they came
        from) with Toxiproxy's own reason."""
        reply = await self.api.handle(ApiRequest("POST", "/populate", body=body))
        if reply.status != 201:
            message = json.loads(reply.body).get("error", reply.body.decode())
            raise FaultkitError(f"{source} rejected: {message}")
        return [self.collection.proxies[p["name"]] for p in json.loads(reply.body)["proxies"] or []]

    async def stop(self) -> None:
        """Close the API listener and its connections, then stop every proxy."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._clients):
            writer.transport.abort()
        async with self.collection.lock:
            for proxy in list(self.collection.proxies.values()):
                await proxy.stop()
        if server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 1.0)

    async def serve_forever(self) -> None:
        """Serve until cancelled, then stop."""
        if self._server is None:
            await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def __aenter__(self) -> ToxiproxyServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


async def serve_control_api(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    bridge: ToxicBridge | None = None,
    extra_routes: ExtraRoutes | None = None,
    config_path: str | Path | None = None,
    seed: int | None = None,
) -> ToxiproxyServer:
    """Start a ``ToxiproxyServer`` in the running loop and return it (call ``stop`` to end).

    ``config_path`` loads a Toxiproxy ``-config`` file once the API listens.
    """
    server = ToxiproxyServer(host, port, bridge=bridge, extra_routes=extra_routes, seed=seed)
    await server.start()
    if config_path is not None:
        try:
            await server.load_config(config_path)
        except BaseException:
            await server.stop()
            raise
    return server
