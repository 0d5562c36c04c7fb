"""One request's way through a door, decided in one place: the exchange flow. No I/O.

Both doors (the in-process httpx transports, sync and async, and the proxy) drive an
:class:`ExchangeFlow` per request, the way an h11 ``Connection`` is driven: the door feeds it
what happened (the upstream head arrived, a body chunk passed, the body ended, the client left,
the upstream broke off, a read timed out, a planned reset went out) and performs what it is told
(answer from this plan, forward upstream and record or not, read the answer whole, store this
recording). The flow owns everything a request means to faultkit:

- the mode decision (replay / record / new_episodes / passthrough), including the rule that a
  fault needing no source (an injected 429) is answered in every mode: recording a real call
  that the test never sees would spend quota for nothing;
- the ledger entry: opened by :meth:`Engine.select <faultkit.engine.Engine.select>`, closed
  exactly once, by :meth:`ExchangeFlow.finish`, the only caller of ``Ledger.finish`` in the doors;
- every fact a live response head gives (:func:`note_response_head`, one function for both
  doors: the same 429 with ``retry-after: 2`` once had ``retry_after_ms`` in one door's ledger
  and None in the other's), and the first-byte time and body bytes as they pass;
- the capture of a live answer for recording (:class:`Capture`, with each chunk's arrival time,
  so a recorded stream keeps its timing);
- the ending of every exchange: completed, reset, timeout, client_closed, unmatched, error.

How a client leaving ends an exchange is one rule (:meth:`ExchangeFlow.client_left`), fed by
what both doors see alike, never by which socket closed first: ``client_closed`` when the client
lost something it was still to get (content planned but not delivered, or a live answer whose
end it had not had: neither the whole body nor its stream's final event) or gave up on a planned
wait (a stall), else ``completed``. A push channel (:func:`is_push_stream`, MCP's GET stream) is
never abandoned: it has no answer to lose, and the client closing it is its normal end. Whether
the server's end of such a channel (MCP's server ends it after the session's DELETE) reached a
door before the client's close did is a race the two doors lose differently, so that order
decides nothing (D9: the session's GET stream once ended ``completed`` in one door and
``client_closed`` in the other when a fault fired on it). The rule holds on every path a client
leaves by: a hang-up during a pass-through, a replayed plan or a lazy live plan, a cancelled
task, a read timeout (which the proxy can only see as a hang-up).

It never sleeps, never reads the clock itself (the door passes a :func:`clock` and the times
events happened), never touches a socket or an HTTP library type.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from faultkit.doors.timeline import captured_response, content_after
from faultkit.engine import Engine, HeadView, Selection, note_head
from faultkit.errors import UnmatchedRequest
from faultkit.exchange import Request, Response, ResponseHead, cached, without_headers
from faultkit.formats.detect import WireFormat, format_of_content_type
from faultkit.formats.ending import is_final_event
from faultkit.formats.errors import error_code
from faultkit.formats.sse import parse_event
from faultkit.formats.usage import USAGE_FORMATS, AnswerFeed
from faultkit.ledger import Ending, LedgerEntry
from faultkit.live import LivePlan
from faultkit.plan import FRAMING_HEADERS, Plan

Mode = Literal["replay", "record", "new_episodes", "passthrough"]
MODES: tuple[str, ...] = ("replay", "record", "new_episodes", "passthrough")
RECORDING_MODES = ("record", "new_episodes")

Clock = Callable[[float | None], float]
MAX_ERROR_BODY = 65536  # an error body longer than this has no code (formats.errors)
# A client that hangs up within GAVE_UP_S of the last bytes it got was done reading (an SDK
# closes at once after ``data: [DONE]``, milliseconds even on a busy machine); one that hangs
# up later, while a planned wait still had more than WAIT_LEFT_S to run, gave up on that wait
# (its read timeout, its deadline). Read timeouts are seconds; SDK hang-ups are milliseconds.
GAVE_UP_S = 0.1
WAIT_LEFT_S = 0.005
Recorder = Callable[[Request, Response], None]

# Every door over one engine shares one clock origin, so sync and async clients of a test see
# one timeline in the ledger (and in ``When.window_ms``).
_ORIGINS: weakref.WeakKeyDictionary[Engine, float] = weakref.WeakKeyDictionary()


def clock(origin: float) -> Clock:
    """ms since ``origin`` (monotonic seconds) of a monotonic time, or of now, to the us.
    The one clock of the ledger: every door stamps arrival, first byte and end with it."""

    def now_ms(at: float | None = None) -> float:
        # int() rather than round(x, 3): a third of the cost, three times per request
        return int(((time.monotonic() if at is None else at) - origin) * 1e6 + 0.5) / 1000

    return now_ms


def clock_origin(engine: Engine) -> float:
    """The monotonic time ``engine``'s ledger counts from, the same for every door on it."""
    origin = _ORIGINS.get(engine)
    if origin is None:
        origin = _ORIGINS.setdefault(engine, time.monotonic())
    return origin


def note_response_head(entry: LedgerEntry, head: HeadView) -> None:
    """Write the ledger facts a live response head gives, for a head no plan made (a
    pass-through or recorded answer; the engine writes the same for the heads it plans).

    The format is refined only where ``Engine.select`` could not place the request by its path
    or body: then the content type is all that tells (a JSON tool API)."""
    note_head(entry, head)
    if entry.format == WireFormat.other:
        entry.format = format_of_content_type(head.header("content-type"))._value_


# A header name as a raw head's index holds it (lowercased bytes), by the name asked for.
_RAW_NAMES: dict[str, bytes] = {}


class Capture:
    """A live upstream response as it streams through a door: its head as received and, when
    ``keep``, its bytes and when each chunk arrived (ms after the request went up), so a
    recording keeps its SSE timing and a fault can edit it whole.

    The head stays as the raw bytes the door's HTTP parser gave until something needs it as a
    :class:`ResponseHead` (a recording, a fault): passing it through needs no model at all, and
    :meth:`header` answers the ledger's questions straight from the raw pairs.
    """

    def __init__(
        self,
        status: int,
        reason: bytes,
        headers: list[tuple[bytes, bytes]],
        head_ms: float,
        *,
        keep: bool = True,
    ) -> None:
        self.status = status
        self.reason = reason
        self.raw_headers = headers
        self.head_ms = head_ms
        self.keep = keep
        self.chunks: list[bytes] = []
        self.marks: list[tuple[int, float]] = []
        self.size = 0
        self.complete = False
        # What a provider answer passing through says (usage, tool calls), read as it passes:
        # set by the flow for a plain pass-through or recording of a provider answer.
        self.answer: AnswerFeed | None = None
        self.previous = self.last = b""  # the last two chunks, when the body is not kept
        # An error answer's body, for its code (errors are small and never streamed).
        self.error_body: bytearray | None = None
        # The raw head indexed once by lowercased name (first value wins): the ledger asks
        # three or four questions of every head, and a door frames the body by two of them.
        index: dict[bytes, bytes] = {}
        for name, value in headers:
            index.setdefault(name.lower(), value)
        self._index = index
        self.content_length = index.get(b"content-length")
        self.transfer_encoding = index.get(b"transfer-encoding")

    def add(self, chunk: bytes, at_ms: float = 0.0) -> None:
        """``chunk`` arrived ``at_ms`` after the request went up (only read when ``keep``)."""
        self.size += len(chunk)
        if self.answer is not None:
            self.answer.feed(chunk)
        elif self.error_body is not None and len(self.error_body) <= MAX_ERROR_BODY:
            self.error_body += chunk
        if self.keep and chunk:
            self.chunks.append(chunk)
            self.marks.append((self.size, at_ms))
        elif chunk:
            self.previous, self.last = self.last, chunk

    @property
    def arrived_whole(self) -> bool:
        """The whole upstream body is here: read to its end, or as long as its head said
        (``content-length``; none for a 204 or 304), whether or not its end was read."""
        if self.complete or self.status in (204, 304):
            return True
        length = self.content_length
        return length is not None and length.strip().isdigit() and self.size >= int(length)

    @property
    def tail(self) -> list[bytes]:
        """The last chunks that passed (all of them when kept)."""
        return self.chunks[-4:] if self.keep else [self.previous, self.last]

    def header(self, name: str) -> str | None:
        """First value of header ``name`` (case-insensitive), read off the raw head."""
        raw = _RAW_NAMES.get(name)
        if raw is None:
            raw = name.lower().encode("latin-1")
            if len(_RAW_NAMES) < 256:  # the names asked for are the code's own few
                _RAW_NAMES[name] = raw
        value = self._index.get(raw)
        return None if value is None else value.decode("latin-1")

    @cached
    def head(self) -> ResponseHead:
        return ResponseHead(
            status=self.status,
            reason=self.reason.decode("latin-1"),
            headers=tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw_headers),
        )

    @cached
    def client_head(self) -> ResponseHead:
        """The head as the client gets it: the door frames the body itself."""
        return self.head.model_copy(
            update={"headers": without_headers(self.head.headers, *FRAMING_HEADERS)}
        )

    def response(self, *, timed: bool = True) -> Response:
        """The captured response (see :func:`~faultkit.doors.timeline.captured_response`)."""
        return captured_response(self.head, self.chunks, self.head_ms, self.marks, timed=timed)


@dataclass(frozen=True, slots=True)
class Replay:
    """Answer from this plan (replayed, or a fault that needs no source)."""

    plan: Plan


@dataclass(frozen=True, slots=True)
class Forward:
    """Send the request upstream. ``record``: store the answer. ``whole``: a fault fires on
    it, so the answer goes through the faults as it arrives (:meth:`ExchangeFlow.live`); else
    it passes through as it arrives (:meth:`ExchangeFlow.head_received` and on)."""

    record: bool
    whole: bool


def _ends_with_final_event(chunks: list[bytes]) -> bool:
    """The bytes passed so far end with a whole SSE event that ends its stream."""
    tail = b"".join(chunks[-4:])
    if not tail.endswith((b"\n\n", b"\r\n\r\n")):
        return False
    blocks = [b for b in tail.replace(b"\r\n", b"\n").split(b"\n\n") if b.strip()]
    return bool(blocks) and is_final_event(parse_event(blocks[-1]))


# The four decisions to forward, made once (a decision is built per request on the hot path).
_FORWARDS = {(r, w): Forward(record=r, whole=w) for r in (False, True) for w in (False, True)}


def is_push_stream(request: Request) -> bool:
    """A ``GET`` that opens a server-to-client event stream (MCP's optional GET channel): a
    channel that lasts as long as the session, not an exchange to record and replay."""
    accept = (request.header("accept") or "").lower()
    return request.method == "GET" and "text/event-stream" in accept


def _is_cancellation(exc: BaseException) -> bool:
    """asyncio's CancelledError or trio's Cancelled: the client gave up (its own deadline)."""
    return type(exc).__name__ in ("CancelledError", "Cancelled")


class ExchangeFlow:
    """One request through a door, from ``Engine.select`` to the ledger entry's ending."""

    __slots__ = (
        "bytes_sent",
        "capture",
        "clock",
        "engine",
        "finished",
        "first_byte_ms",
        "mode",
        "recorder",
        "recording",
        "request",
        "selection",
    )

    def __init__(
        self,
        engine: Engine,
        request: Request,
        route: str,
        *,
        mode: str,
        clock: Clock,
        arrived_at: float | None = None,
        wall_s: float | None = None,
        recorder: Recorder | None = None,
    ) -> None:
        """Count the request against the scenario's rules and open its ledger entry.
        ``arrived_at``: monotonic time the request arrived (None: now); ``recorder`` stores a
        recording (record and new_episodes modes)."""
        self.engine = engine
        self.request = request
        self.mode = mode
        self.clock = clock
        self.recorder = recorder
        self.selection: Selection = engine.select(request, route, clock(arrived_at), wall_s)
        self.capture: Capture | None = None
        self.recording = False  # the live answer is stored once complete
        self.bytes_sent = 0
        self.first_byte_ms: float | None = None
        self.finished = False

    @property
    def entry(self) -> LedgerEntry:
        return self.selection.entry

    # -- what to do ------------------------------------------------------------------------
    def decide(self) -> Replay | Forward:
        """Replay, or forward upstream (and whether to record, whether to read it whole), per
        the door's mode. Raises :class:`UnmatchedRequest` (the entry closed as ``unmatched``)
        when replay finds no recording."""
        selection = self.selection
        mode = self.mode
        if mode == "replay" or not selection.needs_source:
            return Replay(self.plan(None))
        if mode == "new_episodes":
            source = self.engine.source
            if source is not None:
                try:
                    recording = source.match(self.request)
                except UnmatchedRequest:
                    pass
                else:
                    selection.entry.recording = recording.source
                    return Replay(self.plan(recording.response))
        record = (
            mode in RECORDING_MODES
            and self.recorder is not None
            and not is_push_stream(self.request)
        )
        self.recording = record
        return _FORWARDS[record, bool(selection.firings)]

    def plan(self, response: Response | None) -> Plan:
        """The engine's plan for ``response`` (None: from the cassettes, or a fault's own)."""
        try:
            return self.engine.plan(self.selection, response)
        except UnmatchedRequest as exc:
            self.finish("unmatched", str(exc))
            raise

    def live(self, capture: Capture) -> LivePlan:
        """The lazy plan for a live answer a fault fires on (``Forward.whole``): the door
        feeds it the body as it arrives (see :mod:`faultkit.live`); it writes the head's facts
        when the head it sends goes out."""
        self.capture = capture
        return self.engine.live(self.selection, capture.head)

    def live_complete(self, capture: Capture, *, record: bool) -> None:
        """A live answer under a lazy plan was read to its end: stored when ``record`` (what
        :attr:`recording` said when the answer began: the client may have had its ending,
        a fault's cut, long before the upstream's answer ended)."""
        capture.complete = True
        if record and self.recorder is not None:
            self.recorder(self.request, capture.response())

    # -- events from the door --------------------------------------------------------------
    def head_received(self, capture: Capture, already: bytes = b"") -> None:
        """A live upstream head is being passed through: the facts the engine would have
        written had it planned this response. A provider answer is read as it passes for the
        facts its body gives at the end (usage, tool calls; an error's code, which says
        whether a retry can help), from ``already``, the body bytes that came in with the
        head, on."""
        self.capture = capture
        entry = self.selection.entry
        note_response_head(entry, capture)
        if capture.status >= 400:
            capture.error_body = bytearray(already)
        elif entry.format in USAGE_FORMATS:
            capture.answer = AnswerFeed(entry.format, capture.header("content-type"))
            if already:
                capture.answer.feed(already)

    def head_sent(self, at: float | None = None) -> None:
        """The response head went out to the client (``at``: monotonic time; None: now)."""
        self.first_byte_ms = self.selection.entry.first_byte_ms = self.clock(at)

    def sent(self, size: int) -> None:
        """``size`` body bytes went out to the client (without any chunk framing)."""
        self.bytes_sent += size

    def body_complete(self, at: float | None = None) -> None:
        """A passed-through body reached its end and went out whole: stored when recording."""
        capture = self.capture
        if capture is not None:
            capture.complete = True
            self._store(capture)
        self.finish("completed", at=at)

    @property
    def wants_rest(self) -> bool:
        """The client stopped reading a live answer that is being recorded: the door should
        read the rest (a recording must not depend on how much the client read: an SDK stops
        at ``data: [DONE]``)."""
        return self.recording and not self.finished

    def client_gone(self, *, unseen: int = 0) -> None:
        """The client left a passed-through answer. Completed when the whole upstream body had
        arrived (stored when recording; a ``content-length`` body counts as whole once that
        many bytes passed, a 204 at once), or what passed ends with its stream's final event
        (only the end of the body was unread: an SDK stops at ``data: [DONE]``, an MCP client
        at its JSON-RPC response), and none of it (``unseen`` bytes) missed the client; else
        abandoned, ``client_closed``. Whether the upstream's end-of-body happened to arrive
        before the client hung up decides nothing, so both doors agree (H3's D5, D9)."""
        if self.finished:
            return
        capture = self.capture
        complete = capture is not None and capture.complete
        if complete:
            self._store(capture)  # type: ignore[arg-type]
        done = capture is not None and (
            capture.arrived_whole or _ends_with_final_event(capture.tail)
        )
        self.client_left(lost=not done or unseen > 0)

    def client_left(
        self,
        *,
        lost: bool,
        waited_s: float = 0.0,
        wait_left_s: float = 0.0,
        error: str | None = None,
    ) -> None:
        """The client left before the exchange's end: ``client_closed`` when it ``lost``
        something it was still to get, or gave up on a planned wait (it had waited
        ``waited_s`` >= ``GAVE_UP_S`` since bytes last reached it, with ``wait_left_s`` >
        ``WAIT_LEFT_S`` of the wait still to run: a stall before a close); else
        ``completed``. ``error`` keeps the cause. The one place a client leaving becomes an
        ending (every door path comes here, see the module docstring). A push channel (MCP's
        GET stream) is ``completed`` whatever was in flight: it lasts as long as the client
        wants it, and whether the server's end of it or the client's close reached the door
        first is a race, not a fact about the exchange."""
        gave_up = waited_s >= GAVE_UP_S and wait_left_s > WAIT_LEFT_S
        abandoned = (lost or gave_up) and not is_push_stream(self.request)
        self.finish("client_closed" if abandoned else "completed", error)

    def client_gone_during_plan(
        self, plan: Plan, delivered: int, *, waited_s: float = 0.0, wait_left_s: float = 0.0
    ) -> None:
        """The client left while ``plan`` was played, after action ``delivered`` went out,
        ``waited_s`` after the last bytes reached it and ``wait_left_s`` before the plan's end
        was due. Abandoned (``client_closed``) if content was still to come, or if it gave up
        on a planned wait (a stall before the close: it had waited ``GAVE_UP_S`` or more and
        the wait was not over); else completed (an SDK stops reading at ``data: [DONE]`` and
        hangs up at once, with only a clean close left). Both doors see exactly this on the
        wire, so both write the same ending."""
        if not self.finished:
            self.client_left(
                lost=content_after(plan.actions, delivered),
                waited_s=waited_s,
                wait_left_s=wait_left_s,
            )

    def plan_ended(self, ending: Ending = "completed", reason: str = "") -> None:
        """The plan was played to its end (``completed``) or to its planned ``reset``."""
        self.finish(ending, reason or None)

    def plan_played(
        self,
        plan: Plan,
        ending: Ending | None,
        *,
        delivered: int = -1,
        waited_s: float = 0.0,
        wait_left_s: float = 0.0,
        head_at: float | None = None,
        sent: int = 0,
        reason: str = "",
    ) -> None:
        """A door that plays a whole plan in one go (the proxy) reports how it went:
        ``ending`` None when the client left after action ``delivered`` went out (see
        :meth:`client_gone_during_plan` for ``waited_s`` and ``wait_left_s``); ``head_at``
        the monotonic time the head went out; ``sent`` the body bytes, unframed."""
        if head_at is not None and self.first_byte_ms is None:
            self.head_sent(head_at)
        self.bytes_sent = sent
        if ending is None:
            self.client_gone_during_plan(
                plan, delivered, waited_s=waited_s, wait_left_s=wait_left_s
            )
        else:
            self.plan_ended(ending, reason)

    def timed_out(self, message: str) -> None:
        """The client's read timed out before the plan's next bytes were due. On the wire
        that is a client that stopped waiting, which is all the proxy can see of it, so the
        ending is the hang-up rule's (:meth:`client_left`, something was still to come) in
        both doors; the cause is kept in ``error``."""
        self.client_left(lost=True, error=message)

    def upstream_failed(self, message: str) -> None:
        """The upstream could not be reached, or gave no usable head."""
        self.finish("error", message)

    def upstream_broke(self, message: str) -> None:
        """The upstream broke off mid-body: the client sees a cut connection, the same."""
        self.finish("reset", f"upstream: {message}")

    def failed(self, exc: BaseException, *, timeout: bool = False) -> None:
        """An exception ended the exchange (``timeout``: it is the client's own timeout)."""
        if isinstance(exc, UnmatchedRequest):
            self.finish("unmatched", str(exc))
        elif timeout:
            self.timed_out(str(exc) or type(exc).__name__)
        elif isinstance(exc, GeneratorExit | KeyboardInterrupt) or _is_cancellation(exc):
            self.client_gone()  # the same rule as a hang-up (nothing had passed: lost)
        else:
            self.finish("error", f"{type(exc).__name__}: {exc}")

    # -- the ledger ------------------------------------------------------------------------
    def _store(self, capture: Capture) -> None:
        if self.recording and self.recorder is not None:
            self.recording = False
            self.recorder(self.request, capture.response())

    def finish(self, ending: Ending, error: str | None = None, *, at: float | None = None) -> None:
        """Close the ledger entry, once; later calls (a stream closed twice) are ignored."""
        if self.finished:
            return
        self.finished = True
        self.recording = False
        capture = self.capture
        if capture is not None:
            if capture.answer is not None:
                self.engine.answer_facts(self.selection.entry, capture.answer.finish())
                capture.answer = None
            elif capture.error_body is not None:
                self.selection.entry.error_code = error_code(bytes(capture.error_body))
                capture.error_body = None
        self.engine.ledger.finish(
            self.selection.entry.id,
            ending=ending,
            end_ms=self.clock(at),
            first_byte_ms=self.first_byte_ms,
            bytes_sent=self.bytes_sent,
            error=error,
        )
