"""A lazy plan: the faults of one request applied to a live upstream answer as it arrives.

A recorded answer becomes a whole :class:`~faultkit.plan.Plan`, recorded waits included, and
the engine hands it to each fault at once. A live answer (pass-through or record mode) is not
whole until the upstream has sent all of it, and its timing is real: a door that read it whole
before applying the faults would replay it without that timing, so a ``slow_first_token`` or a
``stall`` on a live stream would measure something else than it claims. Here each upstream
chunk goes through the same fault transforms (:meth:`faultkit.faults.base.Fault.transform`) the
moment it arrives, and comes out stamped with the time the door must perform it.

Timing: an action is due when its input arrived plus every wait the faults put before it, so
a wait shifts what follows without squeezing the gaps the upstream made. A
``slow_first_token`` of 2 s makes the first event 2 s late and every later event 2 s late too,
each the same time after the one before as upstream; a ``stall`` after event 3 shifts events 4
onwards by the stall. Whole-body faults hold the body until the upstream ends (the one
buffering adaptor): their answer is due then.

Pure: no sockets, no clock. The door passes the monotonic time at which each chunk arrived
and performs the actions it gets back (sleep until due, write, close, reset). The ledger
receives the same facts as for a planned answer: the head's facts when the head goes out, the
faults applied or skipped ("nothing to alter") with their alterations, and the error code of an
error body or the usage and tool calls of an answer when the answer ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from faultkit.exchange import Response, ResponseHead, without_headers
from faultkit.faults.base import Transform
from faultkit.formats.errors import error_code
from faultkit.formats.sse import SSEParser
from faultkit.formats.usage import AnswerReader
from faultkit.plan import (
    FRAMING_HEADERS,
    Action,
    Close,
    Reset,
    SendBytes,
    SendEvent,
    SendHead,
    Wait,
)

if TYPE_CHECKING:
    from faultkit.engine import Engine, Firing, Selection


@dataclass(frozen=True)
class Timed:
    """One action, due at ``at_s`` on the door's monotonic clock (seconds). A ``Wait`` is due
    when it starts; its heartbeats, if any, follow every ``heartbeat_ms`` within it."""

    at_s: float
    action: Action


class LivePlan:
    """The faults of one selection over one live answer. Made by :meth:`Engine.live`.

    Feed it the upstream's body chunks as they arrive (:meth:`feed`), then tell it the
    upstream ended (:meth:`finish`). Once :attr:`done` (a fault ended the answer: a cut, a
    reset, a timeout), what the upstream still sends is never sent: a door stops reading then,
    unless it records the whole answer anyway (then it keeps feeding, and the ledger counts
    exactly what the client never got).
    """

    def __init__(
        self,
        engine: Engine,
        selection: Selection,
        head: ResponseHead,
        stages: list[tuple[Firing, Transform]],
    ) -> None:
        self.engine = engine
        self.selection = selection
        self.stages = stages
        self._head = head.model_copy(
            update={"headers": without_headers(head.headers, *FRAMING_HEADERS)}
        )
        self._parser = SSEParser() if Response(head=head).is_sse else None
        self._lag_s = 0.0
        self._last_s = 0.0
        self._started = False
        self._finished = False
        self.done = False
        self._answer: AnswerReader | None = None  # usage and tool calls of an answer
        self._body: bytearray | None = None  # a body read whole: an error's, a JSON answer's

    # -- the door's calls ------------------------------------------------------------------
    def start(self, now_s: float) -> list[Timed]:
        """The upstream's head arrived at ``now_s``."""
        self._started = True
        return self._push([SendHead(head=self._head)], now_s)

    def feed(self, chunk: bytes, now_s: float) -> list[Timed]:
        """A body chunk arrived at ``now_s``: the actions it makes due, in order."""
        if not self._started:
            raise RuntimeError("LivePlan.feed before start")
        if not chunk:
            return []
        if self._parser is None:
            return self._push([SendBytes(data=chunk)], now_s)
        events = self._parser.feed(chunk)
        return self._push([SendEvent(event=e) for e in events], now_s) if events else []

    def finish(self, now_s: float, error: str | None = None) -> list[Timed]:
        """The upstream ended at ``now_s``: cleanly, or (``error``) broken off mid-body, which
        the client sees as a reset. Ends every fault and writes their ledger facts."""
        if self._finished:
            return []
        rest: list[Action] = []
        if self._parser is not None:
            rest += [SendEvent(event=e) for e in self._parser.flush()]
        rest.append(Reset(reason=f"upstream: {error}") if error else Close())
        return self._push(rest, now_s) + self.abandon(now_s)

    def abandon(self, now_s: float) -> list[Timed]:
        """The door stops reading the upstream before its end (the answer was cut, or the
        client left): ends every fault with what it has seen, and writes the ledger facts.
        What the upstream would still have sent stays unknown. Calling it again (or after
        :meth:`finish`) does nothing, so a door may call it however the exchange ends."""
        if self._finished:
            return []
        self._finished = True
        out: list[Timed] = []
        for i, (_, stage) in enumerate(self.stages):
            out += self._stamp(self._through(stage.end(), i + 1), now_s)
        self._note_faults()
        return out

    # -- inside ----------------------------------------------------------------------------
    def _through(self, actions: list[Action], first: int) -> list[Action]:
        for _, stage in self.stages[first:]:
            passed: list[Action] = []
            for action in actions:
                passed += stage.feed(action)
            actions = passed
        return actions

    def _push(self, actions: list[Action], now_s: float) -> list[Timed]:
        return self._stamp(self._through(actions, 0), now_s)

    def _stamp(self, actions: list[Action], now_s: float) -> list[Timed]:
        out: list[Timed] = []
        for action in actions:
            if self.done:
                break  # nothing after an ending is ever sent
            at = max(now_s + self._lag_s, self._last_s)
            self._last_s = at
            out.append(Timed(at, action))
            if isinstance(action, Wait):
                self._lag_s += max(0.0, action.ms) / 1000
            elif isinstance(action, SendHead):
                self._note_head(action.head)
            elif isinstance(action, SendEvent) and self._answer is not None:
                self._answer.event(action.event)
            elif isinstance(action, SendBytes | SendEvent) and self._body is not None:
                self._body += (
                    action.data if isinstance(action, SendBytes) else action.event.encode()
                )
            elif isinstance(action, Close | Reset):
                self.done = True
        return out

    def _note_head(self, head: ResponseHead) -> None:
        entry = self.selection.entry
        self.engine.head_facts(entry, head)
        if head.status >= 400:
            self._body = bytearray()
        else:
            reader = AnswerReader(entry.format)
            if reader.reads:
                self._answer = reader
                self._body = None if self._parser is not None else bytearray()

    def _note_faults(self) -> None:
        for firing, stage in self.stages:
            self.engine.fault_result(self.selection, firing, stage.changed, stage.alterations)
        entry = self.selection.entry
        if self._answer is not None:
            if self._body is not None:
                self._answer.body(bytes(self._body))
            self.engine.answer_facts(entry, self._answer)
        elif self._body is not None:
            # As for a planned error: what the body says decides whether a retry can help.
            entry.error_code = error_code(bytes(self._body))
