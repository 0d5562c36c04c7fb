"""The proxy: one door per upstream, the shared fault state, cassettes, and the control API.

Everything runs in one asyncio loop: the doors, the upstream client pool, the control API and
(when available) the Toxiproxy-compatible TCP proxies. Recordings are saved atomically (the
store writes a temporary file, fsyncs and renames) a moment after they are made and once more
on shutdown, after in-flight exchanges were given time to finish, so a SIGINT or SIGTERM never
leaves a cassette half-written.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from faultkit.cassettes import Cassette, CassetteStore
from faultkit.cassettes.store import APP_MATCH_ON, APP_PLAYBACK, Playback
from faultkit.cassettes.write import remove_stale_temp_files
from faultkit.config import RouteAliases
from faultkit.doors.flow import MODES, clock
from faultkit.doors.http1 import CLIENT_TIMEOUT_S, HttpConnection, Listener, listen
from faultkit.doors.toxiproxy.errors import ApiError, TcpFrontError
from faultkit.errors import CassetteError, FaultkitError
from faultkit.exchange import Request, Response
from faultkit.plan import DEFAULT_TIMING_SCALE
from faultkit.scenario import Scenario

from .bridge import HttpFaultBridge
from .config import TcpProxy, Upstream
from .control import FaultkitRoutes, Reply
from .door import Door
from .source import ReplaySource
from .state import LEDGER_BYTES, LEDGER_SIZE, FaultState
from .upstream import Upstreams

log = logging.getLogger("faultkit.proxy")

SAVE_DELAY_S = 0.5
CASSETTE_SUFFIXES = (".yaml", ".yml", ".json")


def release_memory() -> None:
    """Give what a reset freed back to the system, so ``POST /faultkit/reset`` brings the RSS
    down: collect everything once, then ask glibc to return its free heap pages
    (``malloc_trim``; a no-op elsewhere).

    The cycle collector otherwise runs as Python runs it. The proxy used to switch it off and
    freeze survivors every 20 ms (``keep_gc_young``); measured on 2026-12-07 with
    ``benchmarks/soak.py --minutes 3`` (100 req/s, faulted) it made no difference to memory
    (RSS growth after warm-up +3.0% with and without) nor CPU (13.4% / 14.0% of a core), and
    injected-latency accuracy on 200 connections was no better with it (|error| p99 45 ms with,
    17 and 12 ms without, on a busy machine), so it went."""
    gc.collect()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


class Proxy:
    """Doors, fault state and recordings of one ``faultkit proxy`` process."""

    def __init__(
        self,
        upstreams: Sequence[Upstream],
        *,
        mode: str = "replay",
        scenario: Scenario | None = None,
        cassettes: Sequence[str | Path] = (),
        match_on: Sequence[str] = APP_MATCH_ON,
        ignore_body_fields: Sequence[str] = ("id",),
        playback: Playback = APP_PLAYBACK,
        timing_scale: float = DEFAULT_TIMING_SCALE,
        seed: int | None = None,
        ledger_size: int | None = LEDGER_SIZE,
        ledger_bytes: int | None = LEDGER_BYTES,
        routes: RouteAliases | None = None,
        client_timeout_s: float | None = CLIENT_TIMEOUT_S,
    ) -> None:
        if mode not in MODES:
            raise CassetteError(f"unknown mode {mode!r}; use one of: {', '.join(MODES)}")
        self.mode = mode
        self.client_timeout_s = client_timeout_s
        self.origin = time.monotonic()
        self.now_ms = clock(self.origin)
        self.match_on = tuple(match_on)
        self.ignore_body_fields = tuple(ignore_body_fields)
        self.playback = playback
        self.cassette_paths = [Path(p) for p in cassettes]
        self.store: CassetteStore | None = None
        self.source: ReplaySource | None = None
        # No doors and no cassettes: a plain Toxiproxy-compatible server, nothing to replay.
        if mode in ("replay", "new_episodes") and (self.cassette_paths or upstreams):
            if not self.cassette_paths and mode == "replay":
                raise CassetteError("replay mode needs --cassettes DIR (a file or directory)")
            self.store = CassetteStore(
                self.cassette_paths,
                match_on=match_on,
                playback=playback,
                ignore_body_fields=ignore_body_fields,
            )
            self.source = ReplaySource(self.store)
        self._record_target = (
            self._recording_target() if mode in ("record", "new_episodes") else None
        )
        self._recorders: dict[str, CassetteStore] = {}
        self._save_handle: asyncio.TimerHandle | None = None
        self.state = FaultState(
            scenario,
            source=self.source,
            timing_scale=timing_scale,
            seed=seed,
            ledger_size=ledger_size,
            ledger_bytes=ledger_bytes,
            routes=routes,
        )
        self.upstreams = Upstreams() if mode != "replay" else None
        self.doors = [Door(u, self) for u in upstreams]
        self.listeners: dict[str, Listener] = {}
        self.control_url: str | None = None
        self.toxiproxy: Any = None
        self.fronts: dict[str, str] = {}
        # The user's own Toxiproxy proxies declared at start: name -> (listen, upstream).
        self.tcp_proxies: dict[str, tuple[str, str]] = {}
        self.remote_toxiproxy: Any = None
        self.routes = FaultkitRoutes(self)
        self.connections: set[HttpConnection] = set()

    # -- recording ---------------------------------------------------------------------------
    def _recording_target(self) -> Path:
        if len(self.cassette_paths) != 1:
            raise CassetteError(
                f"{self.mode} mode needs exactly one --cassettes path to record into "
                "(a directory: one <upstream>.yaml per upstream; or a .yaml file)"
            )
        target = self.cassette_paths[0]
        if target.suffix.lower() in CASSETTE_SUFFIXES:
            parent = target.parent
        else:
            parent = target
            if not parent.exists() and parent.parent.is_dir():
                parent.mkdir()
        if not parent.is_dir():
            raise CassetteError(f"{parent}: cassette directory not found")
        remove_stale_temp_files(parent)  # what a killed earlier recording left
        return target

    def _recorder(self, route: str) -> CassetteStore:
        store = self._recorders.get(route)
        if store is not None:
            return store
        target = self._record_target
        assert target is not None
        if target.suffix.lower() in CASSETTE_SUFFIXES:
            shared = self._recorders.get("")
            if shared is None:
                shared = self._recorders[""] = self._new_recorder(target)
            self._recorders[route] = shared
            return shared
        store = self._recorders[route] = self._new_recorder(target / f"{route}.yaml")
        return store

    def _new_recorder(self, path: Path) -> CassetteStore:
        """``record`` starts the file afresh (replaced on the first save); ``new_episodes``
        appends to what is there."""
        if self.mode == "new_episodes":
            return CassetteStore.for_recording(
                path, match_on=self.match_on, ignore_body_fields=self.ignore_body_fields
            )
        store = CassetteStore(match_on=self.match_on, ignore_body_fields=self.ignore_body_fields)
        cassette = Cassette(path=path)
        store.add_cassette(cassette)
        store.target = cassette
        return store

    def record(self, route: str, request: Request, response: Response) -> None:
        self._recorder(route).record(request, response)
        if self._save_handle is None:
            loop = asyncio.get_running_loop()
            self._save_handle = loop.call_later(SAVE_DELAY_S, self.flush)

    def flush(self) -> list[Path]:
        """Write every recording made so far (scrubbed, atomically). Returns the files written."""
        self._save_handle = None
        written: list[Path] = []
        for store in {id(s): s for s in self._recorders.values()}.values():
            path = store.save()
            if path is not None:
                written.append(path)
        return written

    def recordings(self) -> list[tuple[Path, int]]:
        """Each cassette being recorded into, with its number of exchanges."""
        out = []
        for store in {id(s): s for s in self._recorders.values()}.values():
            if store.target is not None:
                out.append((store.target.path, len(store.target.interactions)))
        return out

    # -- control -----------------------------------------------------------------------------
    def reset(self) -> None:
        self.state.reset()
        if self.store is not None:
            self.store.rewind()
        release_memory()

    def door_address(self, name: str) -> str | None:
        listener = self.listeners.get(name)
        return listener.address if listener else None

    def describe(self) -> dict[str, Any]:
        doors = []
        for door in self.doors:
            address = self.door_address(door.route)
            upstream = door.upstream
            entry: dict[str, Any] = {
                "name": upstream.name,
                "address": address,
                "upstream": upstream.url,
                "env": upstream.env,
            }
            if door.route in self.fronts:
                entry["tcp"] = self.fronts[door.route]
                # The URL whose connections the TCP toxics act on: the same paths as the
                # door, through its front.
                entry["tcp_url"] = upstream.door_url(f"http://{self.fronts[door.route]}")
            if address is not None:
                entry["base_url"] = upstream.door_url(address)
                if upstream.env:
                    entry["export"] = f"export {upstream.env}={upstream.door_url(address)}"
            doors.append(entry)
        return {
            "mode": self.mode,
            "scenario": self.state.active.name if self.state.active else None,
            "recordings": len(self.store) if self.store is not None else 0,
            "doors": doors,
            "proxies": [
                {"name": name, "listen": listen, "upstream": upstream}
                for name, (listen, upstream) in self.tcp_proxies.items()
            ],
            "control": self.control_url,
        }

    # -- lifecycle ---------------------------------------------------------------------------
    async def start_doors(self, host: str, ports: dict[str, int]) -> None:
        """Bind every door (``ports`` by upstream name; 0 or absent: a free port)."""
        for door in self.doors:
            port = ports.get(door.route, door.upstream.port or 0)
            self.listeners[door.route] = await listen(
                door.handle,
                host,
                port,
                busy=self.connections,
                what=f"door {door.route}",
                client_timeout_s=self.client_timeout_s,
            )

    async def start_control(
        self,
        host: str,
        port: int,
        toxiproxy_url: str | None = None,
        *,
        allow_remote: bool = False,
        tcp_ports: dict[str, int] | None = None,
        tcp_proxies: Sequence[TcpProxy] = (),
        toxiproxy_config: str | None = None,
    ) -> None:
        """The control API: Toxiproxy's (with the doors as proxies and the HTTP faults as
        extra toxic types) plus ``/faultkit/...``; only the latter when the Toxiproxy door is
        not installed. With ``toxiproxy_url`` (a team's own Toxiproxy server), the doors' TCP
        fronts are proxies on that server instead, so its TCP toxics apply. Without
        ``allow_remote`` the API answers loopback ``Host`` names only and refuses proxies
        that would listen on a non-loopback address (see ``toxiproxy.guard``).

        Each door's front listens on ``tcp_ports[door]``, else the upstream's ``tcp_port``,
        else a free port; ``tcp_proxies`` (``faultkit.toml``'s ``[proxies]``) and the
        Toxiproxy ``-config`` file ``toxiproxy_config`` are the user's own proxies, created
        before anything is announced, so a suite can hard-code every TCP address."""
        tcp_ports = tcp_ports or {}
        from faultkit.doors.toxiproxy import ApiRequest, ToxiproxyServer
        from faultkit.doors.toxiproxy.toxics import TCP_TOXICS

        async def faultkit_routes(request: ApiRequest) -> tuple[int, Any, bytes]:
            target = request.path + (f"?{request.query}" if request.query else "")
            reply = self.routes(request.method, target, request.header, request.body)
            if reply is None:  # pragma: no cover - the prefix guarantees a match
                reply = Reply(404, b"404 page not found\n", "text/plain; charset=utf-8")
            return reply.status, reply.headers, reply.body

        server = ToxiproxyServer(
            host,
            port,
            bridge=HttpFaultBridge(self, TCP_TOXICS),
            extra_routes={("*", "/faultkit/"): faultkit_routes},
            allow_remote=allow_remote,
        )
        await server.start()
        self.toxiproxy = server
        self.control_url = server.url
        if toxiproxy_url:
            await self._remote_fronts(toxiproxy_url, tcp_ports, tcp_proxies)
            return
        # Each door is a Toxiproxy proxy of the same name: a TCP front (TCP toxics apply to
        # connections through it) whose HTTP fault toxics apply to the door itself.
        async with server.collection.lock:
            for door in self.doors:
                listener = self.listeners.get(door.route)
                if listener is None:
                    continue
                port = tcp_ports.get(door.route, door.upstream.tcp_port or 0)
                try:
                    front = await server.collection.create(
                        door.route, f"{host}:{port}", f"{listener.host}:{listener.port}", True
                    )
                except ApiError as exc:
                    raise TcpFrontError(
                        f"door {door.route}: its TCP front cannot listen: {exc.message}"
                    ) from None
                self.fronts[door.route] = front.listen
        if tcp_proxies:
            body = json.dumps([p.populate_entry() for p in tcp_proxies]).encode()
            for made in await server.populate(body, "faultkit.toml [proxies]"):
                self.tcp_proxies[made.name] = (made.listen, made.upstream)
        if toxiproxy_config:
            for made in await server.load_config(toxiproxy_config):
                self.tcp_proxies[made.name] = (made.listen, made.upstream)

    async def _remote_fronts(
        self, url: str, tcp_ports: dict[str, int], tcp_proxies: Sequence[TcpProxy]
    ) -> None:
        """Create (or replace) one proxy per door on the external Toxiproxy at ``url``, each
        forwarding to its door (on its declared TCP port, if any), and the user's declared
        proxies. The server must reach the doors: run it on this host, or bind the doors
        where it can see them. The proxies are deleted again on shutdown."""
        from faultkit.doors.toxiproxy.remote import AsyncToxiproxyClient

        client = AsyncToxiproxyClient(url)
        wanted = [
            {
                "name": door.route,
                "listen": f"127.0.0.1:{tcp_ports.get(door.route, door.upstream.tcp_port or 0)}",
                "upstream": f"{listener.host}:{listener.port}",
                "enabled": True,
            }
            for door in self.doors
            if (listener := self.listeners.get(door.route)) is not None
        ]
        declared = {p.name for p in tcp_proxies}
        try:
            created = await client.populate(wanted + [p.populate_entry() for p in tcp_proxies])
        except FaultkitError:
            await client.aclose()
            raise
        self.remote_toxiproxy = client
        for proxy in (created or {}).get("proxies") or []:
            if proxy["name"] in declared:
                self.tcp_proxies[proxy["name"]] = (proxy["listen"], proxy["upstream"])
            else:
                self.fronts[proxy["name"]] = proxy["listen"]

    async def drain(self, grace_s: float) -> None:
        """Stop accepting, then give in-flight exchanges up to ``grace_s`` to finish."""
        for listener in self.listeners.values():
            listener.server.close()
        deadline = time.monotonic() + grace_s
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for conn in list(self.connections):
            conn.close()

    async def aclose(self) -> None:
        if self.toxiproxy is not None:
            await self.toxiproxy.stop()
        if self.remote_toxiproxy is not None:
            client, self.remote_toxiproxy = self.remote_toxiproxy, None
            try:
                for name in [*self.fronts, *self.tcp_proxies]:
                    await client.delete_proxy(name)
            finally:
                await client.aclose()
        if self._save_handle is not None:
            self._save_handle.cancel()
        self.flush()
        if self.upstreams is not None:
            await self.upstreams.aclose()
