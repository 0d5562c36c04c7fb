"""The part of the in-process door that is the same for httpx and httpx2, sync and async.

It converts a client request into the exchange model, asks the engine what to do, captures a
live upstream response (with its timing) for recording, and writes how the exchange ended into
the ledger. It never sleeps and never touches a socket: the transports in
:mod:`faultkit.doors.inprocess` do that, each with its own sleep and stream primitives. The HTTP
library is a parameter (``mod``), so the same code serves ``httpx`` and ``httpx2``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from types import ModuleType
from typing import Any, ClassVar, Literal

from faultkit.doors.timeline import captured_response, route_for_host
from faultkit.engine import Engine, HeadView, Selection, note_head
from faultkit.errors import FaultkitError, UnmatchedRequest
from faultkit.exchange import Request, Response, ResponseHead, without_headers
from faultkit.formats.detect import WireFormat, format_of_content_type
from faultkit.ledger import Ending, LedgerEntry
from faultkit.plan import FRAMING_HEADERS, Plan

Mode = Literal["replay", "record", "new_episodes", "passthrough"]
MODES: tuple[str, ...] = ("replay", "record", "new_episodes", "passthrough")
RECORDING_MODES = ("record", "new_episodes")

RESET_BEFORE_HEAD = "Server disconnected without sending a response."
RESET_MID_BODY = (
    "peer closed connection without sending complete message body (incomplete chunked read)"
)

# Every door over one engine shares one clock origin, so sync and async clients of a test see
# one timeline in the ledger (and in ``When.window_ms``).
_ORIGINS: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


def clock_origin(engine: Engine) -> float:
    origin = _ORIGINS.get(engine)
    if origin is None:
        origin = _ORIGINS.setdefault(engine, time.monotonic())
    return origin


def note_response_head(entry: LedgerEntry, head: HeadView) -> None:
    """Write the ledger facts a live response head gives, for a head no plan made (a
    pass-through or recorded answer; the engine writes the same for the heads it plans).

    Every door calls this one function, so the in-process door and the proxy cannot drift
    apart again: a live 429 with ``retry-after: 2`` once had ``retry_after_ms`` in one door's
    ledger and None in the other's, and ``retry_after_ignored`` could never fire through the
    proxy. The format is refined only where ``Engine.select`` could not place the request
    by its path or body: then the content type is all that tells (a JSON tool API)."""
    note_head(entry, head)
    if entry.format == WireFormat.other:
        entry.format = format_of_content_type(head.header("content-type")).value


def _is_cancellation(exc: BaseException) -> bool:
    """asyncio's CancelledError or trio's Cancelled: the client gave up (its own deadline)."""
    return type(exc).__name__ in ("CancelledError", "Cancelled")


@dataclass(frozen=True)
class Replay:
    """Answer from this plan (replayed, or a fault that needs no source)."""

    plan: Plan


@dataclass(frozen=True)
class Forward:
    """Send the request upstream; ``record`` says whether to store the answer."""

    record: bool


class Exchange:
    """One request through the door: its ledger entry and what has been sent so far."""

    def __init__(self, core: DoorCore, http_request: Any, body: bytes) -> None:
        self.core = core
        self.http_request = http_request
        url = http_request.url
        self.request = Request(
            method=http_request.method,
            url=str(url),
            headers=tuple(
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in http_request.headers.raw
            ),
            body=body,
        )
        self.route = core.route or route_for_host(url.host)
        self.start = time.monotonic()
        self.selection: Selection = core.engine.select(
            self.request, self.route, core.now_ms(self.start), time.time()
        )
        timeouts = http_request.extensions.get("timeout") or {}
        self.read_timeout: float | None = timeouts.get("read")
        self.bytes_sent = 0
        self.first_byte_ms: float | None = None
        self.finished = False

    @property
    def entry_id(self) -> int:
        return self.selection.entry.id

    def head_sent(self) -> None:
        self.first_byte_ms = self.core.now_ms()
        self.selection.entry.first_byte_ms = self.first_byte_ms

    def finish(self, ending: Ending, error: str | None = None) -> None:
        """Close the ledger entry once; later calls (a stream closed twice) are ignored."""
        if self.finished:
            return
        self.finished = True
        self.core.engine.ledger.finish(
            self.entry_id,
            ending=ending,
            end_ms=self.core.now_ms(),
            first_byte_ms=self.first_byte_ms,
            bytes_sent=self.bytes_sent,
            error=error,
        )

    def fail(self, exc: BaseException) -> None:
        """Record an exception that ends the exchange, unless its ending is already written."""
        mod = self.core.mod
        if isinstance(exc, UnmatchedRequest):
            self.finish("unmatched", str(exc))
        elif isinstance(exc, mod.TimeoutException):
            self.finish("timeout", str(exc) or type(exc).__name__)
        elif isinstance(exc, GeneratorExit | KeyboardInterrupt) or _is_cancellation(exc):
            self.finish("client_closed")
        else:
            self.finish("error", f"{type(exc).__name__}: {exc}")

    # -- errors a real socket would produce --------------------------------------------------
    def read_timeout_error(self) -> Exception:
        self.finish("timeout", f"read timeout ({self.read_timeout:g} s)")
        return self.core.mod.ReadTimeout(
            f"timed out: no data for {self.read_timeout:g} s (faultkit)",
            request=self.http_request,
        )

    def reset_error(self, before_head: bool, reason: str = "") -> Exception:
        message = RESET_BEFORE_HEAD if before_head else RESET_MID_BODY
        self.finish("reset", reason or message)
        return self.core.mod.RemoteProtocolError(message, request=self.http_request)

    def bytes_before_head_error(self) -> Exception:
        self.finish("error", "plan sends body bytes before the response head")
        return self.core.mod.RemoteProtocolError("illegal status line", request=self.http_request)

    # -- response construction --------------------------------------------------------------
    def response_args(self, head: ResponseHead) -> dict[str, Any]:
        reason = head.reason
        if not reason:
            try:
                reason = HTTPStatus(head.status).phrase
            except ValueError:
                reason = ""
        return {
            "status_code": head.status,
            "headers": [(k.encode("latin-1", "replace"), v.encode()) for k, v in head.headers],
            "extensions": {
                "http_version": b"HTTP/1.1",
                "reason_phrase": reason.encode("latin-1", "replace"),
            },
        }


class Capture:
    """A live upstream response as it streams through: bytes plus when each chunk arrived,
    turned into a :class:`Response` with ``first_byte_ms`` and ``event_offsets_ms``."""

    def __init__(self, exchange: Exchange, upstream_response: Any) -> None:
        self.exchange = exchange
        self.head_ms = (time.monotonic() - exchange.start) * 1000
        headers = tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in upstream_response.headers.raw
        )
        reason = upstream_response.extensions.get("reason_phrase", b"")
        self.head = ResponseHead(
            status=upstream_response.status_code,
            reason=reason.decode("latin-1") if isinstance(reason, bytes) else str(reason),
            headers=headers,
        )
        self.chunks: list[bytes] = []
        self.marks: list[tuple[int, float]] = []
        self.size = 0

    @property
    def client_head(self) -> ResponseHead:
        """The head as the client gets it: the door re-frames the body itself."""
        return self.head.model_copy(
            update={"headers": without_headers(self.head.headers, *FRAMING_HEADERS)}
        )

    def add(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.chunks.append(chunk)
        self.size += len(chunk)
        self.marks.append((self.size, (time.monotonic() - self.exchange.start) * 1000))

    def response(self, *, timed: bool = True) -> Response:
        """The captured response (see :func:`~faultkit.doors.timeline.captured_response`)."""
        return captured_response(self.head, self.chunks, self.head_ms, self.marks, timed=timed)


class DoorCore:
    """Engine calls and bookkeeping shared by every transport flavour."""

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
        self.origin = clock_origin(engine)
        self._lock = threading.Lock()

    def get_upstream(self, factory: Callable[[], Any]) -> Any:
        """The upstream transport, created on first forward (replay never builds one)."""
        with self._lock:
            if self.upstream is None:
                self.upstream = factory()
            return self.upstream

    def now_ms(self, at: float | None = None) -> float:
        return round(((time.monotonic() if at is None else at) - self.origin) * 1000, 3)

    def open(self, http_request: Any, body: bytes) -> Exchange:
        return Exchange(self, http_request, body)

    def plan(self, exchange: Exchange, response: Response | None) -> Plan:
        return self.engine.plan(exchange.selection, response)

    def decide(self, exchange: Exchange) -> Replay | Forward:
        """Replay, or forward upstream (and whether to record), per the door's mode.

        A fault that answers on its own (an injected 429) is answered in every mode: recording
        a real call that the test never sees would spend quota for nothing.
        """
        selection = exchange.selection
        if self.mode == "replay" or not selection.needs_source:
            return Replay(self.plan(exchange, None))
        if self.mode == "new_episodes":
            source = self.engine.source
            assert source is not None
            try:
                recording = source.match(exchange.request)
            except UnmatchedRequest:
                return Forward(record=True)
            selection.entry.recording = recording.source
            return Replay(self.plan(exchange, recording.response))
        return Forward(record=self.mode == "record")

    def upstream_request(self, exchange: Exchange) -> Any:
        """The request sent upstream: the client's, asking for an uncompressed body so the
        recording can be read, timed per event, and edited by faults."""
        http_request = exchange.http_request
        headers = [(k, v) for k, v in http_request.headers.raw if k.lower() != b"accept-encoding"]
        headers.append((b"accept-encoding", b"identity"))
        return self.mod.Request(
            http_request.method,
            http_request.url,
            headers=headers,
            content=exchange.request.body,
            extensions=dict(http_request.extensions),
        )

    def passthrough_started(self, exchange: Exchange, capture: Capture) -> None:
        """Ledger facts the engine would have written had it planned this response."""
        note_response_head(exchange.selection.entry, capture.head)
        exchange.head_sent()

    def record(self, exchange: Exchange, response: Response) -> None:
        source = self.engine.source
        source.record(exchange.request, response)  # type: ignore[union-attr]

    def replan(self, exchange: Exchange, capture: Capture, record: bool) -> Plan:
        """The plan for an upstream response read whole because a fault fires on it (stored
        first when recording). Untimed: its waiting already happened once, upstream."""
        if record:
            self.record(exchange, capture.response())
        return self.plan(exchange, capture.response(timed=False))


class DoorLogic:
    """What the sync and async transports share: their settings, held in one ``DoorCore``.

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
        self._core = DoorCore(self._mod, engine, route, mode, upstream)

    @property
    def engine(self) -> Engine:
        return self._core.engine

    @property
    def mode(self) -> str:
        return self._core.mode
