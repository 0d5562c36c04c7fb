"""What the in-process transports share: httpx and httpx2, sync and async.

A request through an in-process transport is an :class:`~faultkit.doors.flow.ExchangeFlow`
(the mode, the ledger entry, the endings, the capture: decided there, as in the proxy) plus the
HTTP library's own types, converted here: the client request into the exchange model, a plan's
head into the library's response, and the errors a real socket would raise (a read timeout, a
dropped connection) into the library's exceptions. It never sleeps and never touches a socket:
:mod:`faultkit.doors.inprocess_sync` and :mod:`faultkit.doors.inprocess_async` do that, each
with its own sleep and stream primitives. The HTTP library is a parameter (``mod``), so the same
code serves ``httpx`` and ``httpx2``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, ClassVar

from faultkit.doors.flow import (
    MODES,
    RECORDING_MODES,
    Capture,
    ExchangeFlow,
    Mode,
    clock,
    clock_origin,
)
from faultkit.doors.timeline import route_for_host
from faultkit.engine import Engine
from faultkit.errors import FaultkitError
from faultkit.exchange import Request, ResponseHead
from faultkit.formats.errors import reason_phrase

# What a client's socket read gives when the server resets the connection (a TCP RST, which
# is what the proxy sends): httpx maps ConnectionResetError to ReadError, before the head and
# mid-body alike, so both doors give the client the same exception.
RESET_BY_PEER = "[Errno 104] Connection reset by peer"


class HttpxExchange:
    """One request through an in-process transport: its flow and the library's request."""

    def __init__(self, door: InProcessDoor, http_request: Any, body: bytes) -> None:
        self.mod = door.mod
        self.http_request = http_request
        url = http_request.url
        request = Request(
            method=http_request.method,
            url=str(url),
            headers=tuple(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in http_request.headers.raw
            ),
            body=body,
        )
        self.start = time.monotonic()
        self.flow = ExchangeFlow(
            door.engine,
            request,
            door.route or route_for_host(url.host),
            mode=door.mode,
            clock=door.clock,
            arrived_at=self.start,
            wall_s=time.time(),
            recorder=door.recorder,
        )
        timeouts = http_request.extensions.get("timeout") or {}
        self.read_timeout: float | None = timeouts.get("read")

    def fail(self, exc: BaseException) -> None:
        """Record an exception that ends the exchange, unless its ending is already written."""
        self.flow.failed(exc, timeout=isinstance(exc, self.mod.TimeoutException))

    # -- errors a real socket would produce --------------------------------------------------
    def read_timeout_error(self) -> Exception:
        self.flow.timed_out(f"read timeout ({self.read_timeout:g} s)")
        return self.mod.ReadTimeout(
            f"timed out: no data for {self.read_timeout:g} s (faultkit)",
            request=self.http_request,
        )

    def reset_error(self, reason: str = "") -> Exception:
        self.flow.plan_ended("reset", reason or RESET_BY_PEER)
        return self.mod.ReadError(RESET_BY_PEER, request=self.http_request)

    def bytes_before_head_error(self) -> Exception:
        self.flow.finish("error", "plan sends body bytes before the response head")
        return self.mod.RemoteProtocolError("illegal status line", request=self.http_request)

    # -- the upstream ------------------------------------------------------------------------
    def upstream_request(self) -> Any:
        """The request sent upstream: the client's, asking for an uncompressed body so the
        recording can be read, timed per event, and edited by faults."""
        http_request = self.http_request
        headers = [(k, v) for k, v in http_request.headers.raw if k.lower() != b"accept-encoding"]
        headers.append((b"accept-encoding", b"identity"))
        return self.mod.Request(
            http_request.method,
            http_request.url,
            headers=headers,
            content=self.flow.request.body,
            extensions=dict(http_request.extensions),
        )

    def capture(self, upstream_response: Any) -> Capture:
        """A :class:`Capture` of the upstream's answer, its head as the library gave it."""
        reason = upstream_response.extensions.get("reason_phrase", b"")
        return Capture(
            upstream_response.status_code,
            reason if isinstance(reason, bytes) else str(reason).encode("latin-1", "replace"),
            list(upstream_response.headers.raw),
            self.elapsed_ms(),
        )

    def elapsed_ms(self) -> float:
        """ms since the request arrived: when a captured chunk came in."""
        return (time.monotonic() - self.start) * 1000

    # -- response construction --------------------------------------------------------------
    def response_args(self, head: ResponseHead) -> dict[str, Any]:
        reason = head.reason or reason_phrase(head.status)
        return {
            "status_code": head.status,
            "headers": [(k.encode("latin-1", "replace"), v.encode()) for k, v in head.headers],
            "extensions": {
                "http_version": b"HTTP/1.1",
                "reason_phrase": reason.encode("latin-1", "replace"),
            },
        }


class InProcessDoor:
    """The settings of one in-process transport (engine, route, mode) and its upstream."""

    def __init__(
        self, mod: ModuleType, engine: Engine, route: str | None, mode: str, upstream: Any
    ) -> None:
        if mode not in MODES:
            raise FaultkitError(f"unknown door mode {mode!r}; use one of: {', '.join(MODES)}")
        if mode in RECORDING_MODES and not hasattr(engine.source, "record"):
            raise FaultkitError(
                f"mode {mode!r} needs a cassette store to record into: "
                "create the Engine with source=CassetteStore(...)"
            )
        self.mod = mod
        self.engine = engine
        self.route = route
        self.mode = mode
        self.upstream = upstream
        self.clock = clock(clock_origin(engine))
        self.recorder = engine.source.record if mode in RECORDING_MODES else None  # type: ignore[union-attr]
        self._lock = threading.Lock()

    def get_upstream(self, factory: Callable[[], Any]) -> Any:
        """The upstream transport, created on first forward (replay never builds one)."""
        with self._lock:
            if self.upstream is None:
                self.upstream = factory()
            return self.upstream

    def open(self, http_request: Any, body: bytes) -> HttpxExchange:
        return HttpxExchange(self, http_request, body)


class TransportBase:
    """What the sync and async transports share: their settings, held in one door.

    ``_mod`` is the HTTP library module (httpx or httpx2) a concrete transport sets.
    """

    _mod: ClassVar[ModuleType]

    def __init__(
        self,
        engine: Engine,
        *,
        route: str | None = None,
        mode: Mode = "replay",
        upstream: Any = None,
    ) -> None:
        self._door = InProcessDoor(self._mod, engine, route, mode, upstream)

    @property
    def engine(self) -> Engine:
        return self._door.engine

    @property
    def mode(self) -> str:
        return self._door.mode
