"""Start and stop the whole Toxiproxy-compatible door inside the caller's asyncio loop.

``ToxiproxyServer`` owns the control API listener and every proxy. It binds 127.0.0.1:8474 by
default (Toxiproxy's well-known port, which every client assumes); binding another host is the
caller's explicit choice. A port already in use raises ``ControlApiBindError``, a
``FaultkitError`` with a one-line message naming the address.

HTTP is the doors' own server (:mod:`faultkit.doors.http1`: keep-alive, pipelining,
``100 Continue``, 16 MiB bodies, a client silent for 60 s dropped as Toxiproxy's idle timeout
does), with the server's own errors (malformed request, body too large) in Toxiproxy's
``{"error", "status"}`` shape. Requests over HTTP pass :mod:`.guard` first (loopback ``Host``
and ``Origin``, JSON bodies); ``allow_remote`` (default: whether ``host`` is a non-loopback
address) accepts any ``Host`` and lets proxies listen on non-loopback addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import random
from pathlib import Path
from types import TracebackType

from faultkit.doors.http1 import (
    HttpConnection,
    IncomingRequest,
    Listener,
    Work,
    listen,
    reply_bytes,
)
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
from faultkit.doors.toxiproxy.proxies import Proxy, ProxyCollection, ToxicBridge
from faultkit.errors import FaultkitError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8474
MAX_BODY = 16 * 1024 * 1024


def _toxiproxy_error(status: int, kind: str, message: str) -> bytes:
    """The HTTP server's own error answers, in the API's error shape."""
    reply = error_reply(status, message)
    return reply_bytes(status, (*reply.headers, ("Connection", "close")), reply.body)


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
        self._listener: Listener | None = None
        self._clients: set[HttpConnection] = set()

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
        self._listener = await listen(
            self._on_request,
            ip,
            sock.getsockname()[1],
            sock=sock,
            what="control API",
            error_reply=_toxiproxy_error,
            max_body=MAX_BODY,
            opened=self._clients,
        )
        self.host, self.port = ip, sock.getsockname()[1]

    def _on_request(self, incoming: IncomingRequest, conn: HttpConnection) -> Work:
        # A change is made whole even when its client hangs up half way (nothing half-applied).
        conn.cancel_on_disconnect = False
        return self._answer(incoming, conn)

    async def _answer(self, incoming: IncomingRequest, conn: HttpConnection) -> bool:
        path, _, query = incoming.target.partition("?")
        request = ApiRequest(incoming.method, path, query, incoming.headers, incoming.body)
        reply = await self._guarded(request)
        headers = [*reply.headers, ("Date", email.utils.formatdate(usegmt=True))]
        if not incoming.keep_alive:
            headers.append(("Connection", "close"))
        conn.write(
            reply_bytes(reply.status, headers, reply.body, head_only=incoming.method == "HEAD")
        )
        return True

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
        listener, self._listener = self._listener, None
        server = listener.server if listener is not None else None
        if server is not None:
            server.close()
        for conn in list(self._clients):
            if conn.transport is not None:
                conn.transport.abort()
        async with self.collection.lock:
            for proxy in list(self.collection.proxies.values()):
                await proxy.stop()
        if server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 1.0)

    async def serve_forever(self) -> None:
        """Serve until cancelled, then stop."""
        if self._listener is None:
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
