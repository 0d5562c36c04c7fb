"""Proxies, their toxic chains and the collection the control API edits.

A ``Proxy`` listens on ``listen`` and forwards each accepted connection to ``upstream`` through
a ``Connection`` (``link.py``). ``enabled: false`` is Toxiproxy's "down": the listener is closed
and every open connection is dropped; the toxics stay. The stored ``listen`` becomes the address
actually bound, so re-enabling binds the same port.

``ProxyCollection`` holds the proxies and implements the Toxiproxy 2.12 semantics of update,
populate and reset. Its methods assume the caller holds ``collection.lock``: the API serialises
every mutation, so a check ("toxic already exists") and the change it guards cannot interleave.

Toxics whose type is not a TCP toxic belong to the bridge (see the package docstring): they are
stored and listed like any other, and the bridge is told when they are added, updated or
removed, but they never enter a TCP connection's chain.
"""

from __future__ import annotations

import asyncio
import inspect
import random
from collections.abc import Iterable
from typing import Any, Protocol

from faultkit.doors.toxiproxy import addresses
from faultkit.doors.toxiproxy.errors import ApiError, ToxicRejected
from faultkit.doors.toxiproxy.link import Connection
from faultkit.doors.toxiproxy.spec import ToxicSpec
from faultkit.suggest import closest

STREAMS = ("upstream", "downstream")


class ToxicBridge(Protocol):
    """Extra toxic types handled outside the TCP data plane (faultkit's HTTP faults).

    Methods may be plain or ``async``. ``add_toxic`` / ``update_toxic`` receive the toxic as the
    API lists it (``name``, ``type``, ``stream``, ``toxicity``, ``attributes``) and may return
    the attributes to list (normalised, defaults filled in) or None to keep them as given. Raise
    ``ToxicRejected`` or ``ValueError`` to refuse the toxic: the API answers 400.
    """

    def toxic_types(self) -> Iterable[str]: ...

    def add_toxic(self, proxy_name: str, toxic: dict[str, Any]) -> Any: ...

    def update_toxic(self, proxy_name: str, toxic: dict[str, Any]) -> Any: ...

    def remove_toxic(self, proxy_name: str, toxic_name: str) -> Any: ...


async def _call(result: Any) -> Any:
    return await result if inspect.isawaitable(result) else result


class Proxy:
    """One named proxy: a listener, its upstream, two toxic chains and the live connections."""

    def __init__(
        self,
        name: str,
        listen: str,
        upstream: str,
        *,
        default_host: str,
        rng: random.Random,
        allow_remote: bool = False,
    ) -> None:
        self.name = name
        self.allow_remote = allow_remote
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: dict[str, list[ToxicSpec]] = {s: [] for s in STREAMS}
        self.connections: set[Connection] = set()
        self._default_host = default_host
        self._rng = rng
        self._server: asyncio.Server | None = None
        # Accepted clients whose upstream dial is in progress, with the task dialing.
        self._dialing: dict[asyncio.StreamWriter, asyncio.Task[Any]] = {}

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [t.to_json() for t in self.all_toxics()],
        }

    def all_toxics(self) -> list[ToxicSpec]:
        """Upstream toxics in the order added, then downstream ones (Toxiproxy's order)."""
        return self.toxics["upstream"] + self.toxics["downstream"]

    def find_toxic(self, name: str) -> ToxicSpec | None:
        return next((t for t in self.all_toxics() if t.name == name), None)

    # --- listener -----------------------------------------------------------------------

    async def start(self) -> None:
        """Bind ``listen`` and accept connections. Raises ApiError 500 with Go's text."""
        if self._server is not None:
            return
        try:
            host, port = await addresses.resolve(self.listen, self._default_host)
        except addresses.AddressError as exc:
            raise ApiError(500, f"listen tcp: {exc}") from None
        if not self.allow_remote and not addresses.is_loopback(host):
            raise _remote_refused(self.listen, host)
        try:
            sock = addresses.bind(host, port)
        except addresses.AddressError as exc:
            raise ApiError(500, str(exc)) from None
        self._server = await asyncio.start_server(self._accept, sock=sock)
        self.listen = addresses.bound_address(sock)
        self.enabled = True

    async def stop(self) -> None:
        """Close the listener and drop every connection (clients see EOF or a reset)."""
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer, task in list(self._dialing.items()):
            writer.transport.abort()
            task.cancel()
        connections = list(self.connections)
        if connections:
            await asyncio.gather(*(c.close() for c in connections))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server = self._server
        task = asyncio.current_task()
        assert task is not None
        self._dialing[writer] = task
        try:
            host, port = addresses.split_host_port(self.upstream)
            port_number = addresses.parse_port(self.upstream, port)
            upstream = await asyncio.open_connection(host, port_number)
        except (OSError, addresses.AddressError):
            writer.close()  # as Toxiproxy: the client sees the connection closed at once
            return
        except asyncio.CancelledError:
            writer.transport.abort()  # the proxy stopped while dialing
            return
        finally:
            self._dialing.pop(writer, None)
        if self._server is not server or server is None or writer.is_closing():
            upstream[1].transport.abort()
            writer.transport.abort()
            return
        # Snapshot the chains and register in one step (no await), so a toxic change either
        # sees this connection or is already in its chains.
        chains = {s: [t for t in self.toxics[s] if t.toxic is not None] for s in STREAMS}
        connection = Connection(
            (reader, writer), upstream, chains, self._rng, self.connections.discard
        )
        self.connections.add(connection)
        connection.start()

    # --- toxics on live connections -------------------------------------------------------

    async def _each_pipeline(self, direction: str, op: str, spec: ToxicSpec) -> None:
        pipelines = [c.pipelines[direction] for c in list(self.connections) if not c.closed]
        if pipelines:
            await asyncio.gather(*(getattr(p, op)(spec) for p in pipelines))

    async def add_toxic(self, spec: ToxicSpec) -> None:
        self.toxics[spec.direction].append(spec)
        if spec.toxic is not None:
            await self._each_pipeline(spec.direction, "add", spec)

    async def update_toxic(self, spec: ToxicSpec) -> None:
        chain = self.toxics[spec.direction]
        chain[next(i for i, t in enumerate(chain) if t.name == spec.name)] = spec
        if spec.toxic is not None:
            await self._each_pipeline(spec.direction, "update", spec)

    async def remove_toxic(self, spec: ToxicSpec) -> None:
        self.toxics[spec.direction].remove(spec)
        if spec.toxic is not None:
            await self._each_pipeline(spec.direction, "remove", spec)


def _remote_refused(listen: str, host: str) -> ApiError:
    # Anyone who can reach a network-facing listener reaches the upstream through it.
    return ApiError(
        400,
        f"listen {listen}: {host} is not a loopback address; a proxy listening on the "
        "network needs the server started with --allow-remote",
    )


class ProxyCollection:
    """All proxies of one server. Mutating methods expect ``lock`` to be held."""

    def __init__(
        self,
        *,
        default_host: str = "127.0.0.1",
        rng: random.Random | None = None,
        bridge: ToxicBridge | None = None,
        allow_remote: bool = False,
    ) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.allow_remote = allow_remote
        self.lock = asyncio.Lock()
        self.default_host = default_host
        self.rng = rng or random.Random()
        self.bridge = bridge

    def get(self, name: str) -> Proxy:
        proxy = self.proxies.get(name)
        if proxy is None:
            # Toxiproxy's words, plus the proxy it is probably a typo of (if any).
            hint = closest(name, self.proxies)
            raise ApiError(404, "proxy not found" + (f"; did you mean {hint!r}?" if hint else ""))
        return proxy

    def new_proxy(self, name: str, listen: str, upstream: str) -> Proxy:
        return Proxy(
            name,
            listen,
            upstream,
            default_host=self.default_host,
            rng=self.rng,
            allow_remote=self.allow_remote,
        )

    async def differs(self, proxy: Proxy, listen: str, upstream: str) -> bool:
        """Toxiproxy 2.12's test: the resolved ``listen`` or the literal ``upstream`` changed."""
        try:
            resolved = await addresses.canonical(listen, self.default_host)
        except addresses.AddressError as exc:
            raise ApiError(500, str(exc)) from None
        return resolved != proxy.listen or upstream != proxy.upstream

    async def check_listen(self, listen: str) -> None:
        """Refuse a non-loopback ``listen`` before anything changes (``Proxy.start`` refuses
        it too; this keeps an update or populate from stopping a proxy first)."""
        if self.allow_remote:
            return
        try:
            host, _ = await addresses.resolve(listen, self.default_host)
        except addresses.AddressError:
            return  # start reports it, in Toxiproxy's words
        if not addresses.is_loopback(host):
            raise _remote_refused(listen, host)

    async def create(self, name: str, listen: str, upstream: str, enabled: bool) -> Proxy:
        if name in self.proxies:
            raise ApiError(409, "proxy already exists")
        proxy = self.new_proxy(name, listen, upstream)
        if enabled:
            await proxy.start()
        self.proxies[name] = proxy
        return proxy

    async def update(self, proxy: Proxy, listen: str, upstream: str, enabled: bool) -> None:
        await self.check_listen(listen)
        if await self.differs(proxy, listen, upstream):
            await proxy.stop()
            proxy.listen, proxy.upstream = listen, upstream
        if enabled and not proxy.enabled:
            await proxy.start()
        elif not enabled and proxy.enabled:
            await proxy.stop()

    async def delete(self, name: str) -> None:
        proxy = self.get(name)
        await proxy.stop()
        del self.proxies[name]
        await self._forget_bridge_toxics(proxy)

    async def populate(self, entries: list[tuple[str, str, str, bool]]) -> list[Proxy]:
        """Create or replace each (name, listen, upstream, enabled), in order.

        An entry equal to an existing proxy (resolved listen, literal upstream) leaves it
        untouched, ``enabled`` included. On the first failure raises ``PopulateFailed`` with
        the proxies processed so far; those stay applied.
        """
        done: list[Proxy] = []
        for _, listen, _, _ in entries:
            try:
                await self.check_listen(listen)
            except ApiError as exc:
                raise PopulateFailed(exc, done) from None
        for name, listen, upstream, enabled in entries:
            try:
                existing = self.proxies.get(name)
                if existing is not None:
                    if not await self.differs(existing, listen, upstream):
                        done.append(existing)
                        continue
                    await existing.stop()
                proxy = self.new_proxy(name, listen, upstream)
                if enabled:
                    await proxy.start()
            except ApiError as exc:
                raise PopulateFailed(exc, done) from None
            if existing is not None:
                await self._forget_bridge_toxics(existing)
            self.proxies[name] = proxy
            done.append(proxy)
        return done

    async def reset(self) -> None:
        """Enable every proxy and remove every toxic (``timeout`` removal closes connections)."""
        for proxy in list(self.proxies.values()):
            if not proxy.enabled:
                await proxy.start()
            for spec in proxy.all_toxics():
                await self.remove_toxic(proxy, spec)

    # --- toxics -------------------------------------------------------------------------

    def bridge_types(self) -> set[str]:
        return set(self.bridge.toxic_types()) if self.bridge is not None else set()

    async def add_toxic(self, proxy: Proxy, spec: ToxicSpec) -> ToxicSpec:
        if spec.toxic is None:
            result = self._bridge_call("add_toxic", proxy, spec.to_json())
            spec = await self._bridged(spec, result)
        await proxy.add_toxic(spec)
        return spec

    async def update_toxic(self, proxy: Proxy, spec: ToxicSpec) -> ToxicSpec:
        if spec.toxic is None:
            spec = await self._bridged(
                spec, self._bridge_call("update_toxic", proxy, spec.to_json())
            )
        await proxy.update_toxic(spec)
        return spec

    async def remove_toxic(self, proxy: Proxy, spec: ToxicSpec) -> None:
        await proxy.remove_toxic(spec)
        if spec.toxic is None:
            await self._bridge_call("remove_toxic", proxy, spec.name)

    async def _forget_bridge_toxics(self, proxy: Proxy) -> None:
        for spec in proxy.all_toxics():
            if spec.toxic is None:
                await self._bridge_call("remove_toxic", proxy, spec.name)

    async def _bridge_call(self, method: str, proxy: Proxy, arg: Any) -> Any:
        assert self.bridge is not None
        try:
            return await _call(getattr(self.bridge, method)(proxy.name, arg))
        except ValueError as exc:  # pydantic's ValidationError included
            raise ToxicRejected(str(exc)) from None

    @staticmethod
    async def _bridged(spec: ToxicSpec, result: Any) -> ToxicSpec:
        attributes = await result
        if attributes is None:
            return spec
        return ToxicSpec(spec.name, spec.type, spec.stream, spec.toxicity, dict(attributes), None)


class PopulateFailed(Exception):
    """Populate stopped at an entry; ``proxies`` were applied before it."""

    def __init__(self, error: ApiError, proxies: list[Proxy]) -> None:
        super().__init__(error.message)
        self.error = error
        self.proxies = proxies
