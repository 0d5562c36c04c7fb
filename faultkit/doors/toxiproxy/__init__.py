"""A Toxiproxy 2.x-compatible door: the REST control API plus a TCP proxy with its toxics.

toxiproxy-python, toxiproxy-cli and the Go/Ruby clients work against it unchanged (the contract
is ``shared/reference/toxiproxy-api.md``, Toxiproxy 2.12 semantics). Start it inside your own
asyncio loop::

    server = await serve_control_api("127.0.0.1", 8474)   # or: async with ToxiproxyServer(...)
    ...
    await server.stop()

Modules: ``api`` (routes, decoding, replies), ``proxies`` (proxies, chains, Toxiproxy's
update/populate/reset rules), ``link`` (one connection's two toxic pipelines), ``toxics/`` (one
module per toxic), ``server`` (start/stop; HTTP through the doors' own server,
``faultkit.doors.http1``), ``remote`` (a client for a real Toxiproxy found through
``TOXIPROXY_URL``).

Extension points (for faultkit's HTTP fault proxy):

1. **Extra toxic types** — pass ``bridge=`` (see ``proxies.ToxicBridge``). A toxic whose
   ``type`` is not a TCP toxic but is in ``bridge.toxic_types()`` is accepted; the API calls
   ``bridge.add_toxic(proxy_name, toxic)``, ``bridge.update_toxic(proxy_name, toxic)`` (with the
   merged attributes) and ``bridge.remove_toxic(proxy_name, toxic_name)`` (also on proxy
   delete, replacement by populate, and ``/reset``). ``toxic`` is the dict the API lists:
   ``name``, ``type``, ``stream``, ``toxicity``, ``attributes``. The methods may be sync or
   async; returning a mapping replaces the listed attributes; raising ``ToxicRejected`` or
   ``ValueError`` answers 400. Bridge toxics are listed like any other but never touch the
   TCP data plane.
2. **Extra routes** — pass ``extra_routes={("POST", "/faultkit/"): handler, ...}``. Matched by
   method (``"*"`` = any) and path prefix, longest prefix first, before Toxiproxy's routes;
   ``async handler(ApiRequest) -> (status, headers, body)`` with headers a mapping or pairs.
3. **A real Toxiproxy** — ``remote.ToxiproxyClient.from_env()`` (or ``AsyncToxiproxyClient``)
   drives the server named by ``TOXIPROXY_URL`` through the same REST API.
"""

from __future__ import annotations

from faultkit.doors.toxiproxy.api import ApiRequest, ApiResponse, ControlApi
from faultkit.doors.toxiproxy.errors import (
    ControlApiBindError,
    RemoteToxiproxyError,
    ToxicRejected,
)
from faultkit.doors.toxiproxy.proxies import Proxy, ProxyCollection, ToxicBridge
from faultkit.doors.toxiproxy.server import ToxiproxyServer, serve_control_api
from faultkit.doors.toxiproxy.spec import ToxicSpec

__all__ = [
    "ApiRequest",
    "ApiResponse",
    "ControlApi",
    "ControlApiBindError",
    "Proxy",
    "ProxyCollection",
    "RemoteToxiproxyError",
    "ToxicBridge",
    "ToxicRejected",
    "ToxicSpec",
    "ToxiproxyServer",
    "serve_control_api",
]
