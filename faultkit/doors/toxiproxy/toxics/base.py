"""What a TCP toxic sees: chunks in, chunks out, through a stub it does not own.

A toxic is a frozen dataclass whose fields are its Toxiproxy attribute names (all integers, 0 when
omitted) and one ``pipe(stub)`` coroutine, like Toxiproxy's ``toxics/*.go``. ``pipe`` loops: it
receives a chunk (or ``EOF``) from ``stub.recv()``, does its harm, and passes data on with
``stub.send()``. It returns when ``stub.recv()`` raises ``Interrupted`` (the chain is being
rewired: the stub restarts it afterwards) or after it closed the stub.

Rules every toxic follows, because the link relies on them to never lose, duplicate or reorder
bytes when toxics are added, updated or removed on a live connection:

- a chunk the toxic holds when interrupted (``stub.sleep`` returned False) is sent on at once;
- ``EOF`` is sticky: a toxic interrupted after receiving it sees it again when restarted;
- state that must survive a restart (``limit_data``'s byte count) lives in ``stub.state``,
  created by ``new_state()`` when the toxic joins a connection.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace
from typing import Any, ClassVar, Protocol


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes read from a socket in one read, stamped with the loop time they arrived."""

    data: bytes
    timestamp: float

    def delayed(self, seconds: float) -> Chunk:
        """The same bytes, treated as having arrived ``seconds`` later (chained latency adds)."""
        return replace(self, timestamp=self.timestamp + seconds)


class _Eof:
    """The source closed. Passed down the chain like a chunk so delays (slow_close) apply."""

    _instance: ClassVar[_Eof | None] = None

    def __new__(cls) -> _Eof:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "EOF"


EOF = _Eof()
Item = Chunk | _Eof


class Interrupted(Exception):
    """Raised by ``stub.recv`` when the chain is being rewired; ``pipe`` lets it propagate."""


class Stub(Protocol):
    """The toxic's view of its place in one connection's one-way chain."""

    state: Any
    rng: random.Random

    def now(self) -> float:
        """Loop time in seconds (the clock chunk timestamps use)."""
        ...

    async def recv(self) -> Item:
        """Next chunk or EOF. Raises Interrupted."""
        ...

    async def recv_within(self, seconds: float) -> Item | None:
        """Like ``recv``, but None if ``seconds`` pass with nothing received."""
        ...

    async def send(self, item: Item) -> None:
        """Pass an item to the next toxic (or the socket). Never drops it, even when interrupted."""
        ...

    async def sleep(self, seconds: float) -> bool:
        """Wait; False (early) if interrupted. ``math.inf`` waits for the interrupt only."""
        ...

    def close(self) -> None:
        """End this direction: EOF goes on to the socket writer, which closes the connection."""
        ...


@dataclass(frozen=True)
class TcpToxic:
    """Base of the TCP toxics. Subclasses declare integer fields and implement ``pipe``."""

    type_name: ClassVar[str] = ""
    # Chunks the toxic's input may queue before the previous stage waits (latency: 1024, so a
    # delayed stream keeps its throughput).
    buffer_size: ClassVar[int] = 0
    # Removing this toxic closes the connections it was applied to (timeout).
    closes_on_removal: ClassVar[bool] = False
    # Connections accepted while this toxic is present close with RST (SO_LINGER 0).
    resets_peer: ClassVar[bool] = False

    @classmethod
    def attribute_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def attributes(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.attribute_names()}

    def new_state(self) -> Any:
        """Per-connection, per-direction state that survives restarts; None if stateless."""
        return None

    async def pipe(self, stub: Stub) -> None:
        raise NotImplementedError


async def forward(stub: Stub) -> None:
    """Pass everything through unchanged: the noop toxic, and any toxic whose toxicity roll
    failed on this connection."""
    while True:
        item = await stub.recv()
        if item is EOF:
            stub.close()
            return
        await stub.send(item)
