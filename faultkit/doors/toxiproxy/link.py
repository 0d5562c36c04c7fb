"""One proxied connection: two one-way pipelines of toxics between two sockets.

Each direction (``upstream`` = client → server, ``downstream`` = server → client) is

    socket reader → [noop] → [toxic 1] → … → [toxic n] → socket writer

where every stage is a task running a toxic's ``pipe`` between two ``Channel``s. The first stage
is always a hidden noop, so adding or removing a real toxic always has a stage before it to
rewire, exactly like Toxiproxy's ``link.go``.

Rewiring a live pipeline (toxic added, updated, removed) interrupts the affected stages, waits
for them to return (each sends on anything it holds), moves any queued input along, points the
outputs at their new channels and restarts the stages. Interrupted stages may overfill a full
channel rather than wait, so a rewire never waits on a slow reader. Nothing is dropped,
duplicated or reordered. A restart re-rolls the toxic's ``toxicity``.

Closing follows Toxiproxy (no half-close): when EOF reaches a writer it fully closes its
destination socket; the other pipeline then reads EOF from that socket and does the same.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import socket
import struct
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from faultkit.doors.toxiproxy.spec import ToxicSpec
from faultkit.doors.toxiproxy.toxics import EOF, Chunk, Interrupted
from faultkit.doors.toxiproxy.toxics.base import Item, forward

log = logging.getLogger(__name__)

READ_SIZE = 32 * 1024


class Channel:
    """A FIFO between two stages. ``capacity`` gives back-pressure; ``overfill`` ignores it.

    EOF is sticky: once closed and drained, ``pop`` keeps returning EOF. The producer's and the
    consumer's wake-up events are poked whenever the other side makes progress.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._items: deque[Chunk] = deque()
        self._eof = False
        self.reader_poke: asyncio.Event | None = None
        self.writer_poke: asyncio.Event | None = None

    def full(self) -> bool:
        return len(self._items) >= self.capacity

    def push(self, item: Item) -> None:
        """Append regardless of capacity (callers check ``full`` first unless overfilling)."""
        if item is EOF:
            self._eof = True
        else:
            assert isinstance(item, Chunk)
            self._items.append(item)
        if self.reader_poke is not None:
            self.reader_poke.set()

    def pop(self) -> Item | None:
        """The next item, EOF once closed and drained, or None when empty."""
        if self._items:
            item = self._items.popleft()
            if self.writer_poke is not None:
                self.writer_poke.set()
            return item
        return EOF if self._eof else None


class Stage:
    """One toxic's place in one pipeline: the stub its ``pipe`` talks to."""

    def __init__(self, spec: ToxicSpec | None, input: Channel, rng: random.Random) -> None:
        self.spec = spec  # None: the hidden noop at the head of the chain
        self.input = input
        self.poke = asyncio.Event()
        input.reader_poke = self.poke
        self._output: Channel | None = None
        self.rng = rng
        self.state: Any = spec.toxic.new_state() if spec and spec.toxic else None
        self.interrupted = False
        self.closed = False
        self.task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str | None:
        return self.spec.name if self.spec else None

    @property
    def output(self) -> Channel:
        assert self._output is not None
        return self._output

    @output.setter
    def output(self, channel: Channel) -> None:
        self._output = channel
        channel.writer_poke = self.poke

    # --- lifecycle, driven by Pipeline ---------------------------------------------------

    def run(self) -> None:
        """(Re)start the toxic, rolling its toxicity for this connection."""
        self.interrupted = False
        spec = self.spec
        active = spec is not None and spec.toxic is not None and self.rng.random() < spec.toxicity
        self.task = asyncio.get_running_loop().create_task(self._run(active))

    async def _run(self, active: bool) -> None:
        try:
            if active:
                assert self.spec is not None and self.spec.toxic is not None
                await self.spec.toxic.pipe(self)
            else:
                await forward(self)
        except Interrupted:
            pass
        except Exception:
            log.exception("toxic %s failed; closing its stream", self.name)
            self.close()

    async def interrupt(self) -> bool:
        """Stop the running toxic so the chain can be rewired. False if the stage had closed."""
        if self.closed:
            return False
        self.interrupted = True
        self.poke.set()
        if self.task is not None:
            await asyncio.wait([self.task])
        return not self.closed

    # --- the Stub protocol the toxics use ------------------------------------------------

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def recv(self) -> Item:
        while True:
            if self.interrupted:
                raise Interrupted
            item = self.input.pop()
            if item is not None:
                return item
            self.poke.clear()
            await self.poke.wait()

    async def recv_within(self, seconds: float) -> Item | None:
        fired = False

        def fire() -> None:
            nonlocal fired
            fired = True
            self.poke.set()

        handle = asyncio.get_running_loop().call_later(seconds, fire)
        try:
            while True:
                if self.interrupted:
                    raise Interrupted
                item = self.input.pop()
                if item is not None:
                    return item
                if fired:
                    return None
                self.poke.clear()
                await self.poke.wait()
        finally:
            handle.cancel()

    async def send(self, item: Item) -> None:
        while self.output.full() and not self.interrupted:
            self.poke.clear()
            await self.poke.wait()
        self.output.push(item)

    async def sleep(self, seconds: float) -> bool:
        if self.interrupted:
            return False
        if seconds <= 0:
            return True
        fired = False

        def fire() -> None:
            nonlocal fired
            fired = True
            self.poke.set()

        loop = asyncio.get_running_loop()
        handle = None if math.isinf(seconds) else loop.call_later(seconds, fire)
        try:
            while not fired:
                if self.interrupted:
                    return False
                self.poke.clear()
                await self.poke.wait()
            return True
        finally:
            if handle is not None:
                handle.cancel()

    def close(self) -> None:
        self.closed = True
        self.output.push(EOF)


class Pipeline:
    """One direction of a connection: reader task, stages, writer task."""

    def __init__(
        self,
        direction: str,
        specs: Iterable[ToxicSpec],
        source: asyncio.StreamReader,
        dest: asyncio.StreamWriter,
        rng: random.Random,
        on_done: Callable[[], None],
    ) -> None:
        self.direction = direction
        self._source = source
        self._dest = dest
        self._rng = rng
        self._on_done = on_done
        self.stages = [Stage(None, Channel(1), rng)]
        for spec in specs:
            stage = Stage(spec, Channel(spec.buffer_size), rng)
            self.stages[-1].output = stage.input
            self.stages.append(stage)
        self.sink = Channel(1)
        self.stages[-1].output = self.sink
        self._reader_poke = asyncio.Event()
        self.stages[0].input.writer_poke = self._reader_poke
        self._writer_poke = asyncio.Event()
        self.sink.reader_poke = self._writer_poke
        self._tasks: list[asyncio.Task[None]] = []
        self.finished = False
        self.dead = False  # cancelled: a rewire in progress must not restart stages

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._read()), loop.create_task(self._write())]
        for stage in self.stages:
            stage.run()

    def cancel(self) -> None:
        self.dead = True
        current = asyncio.current_task()
        for task in self.tasks():
            if task is not current:
                task.cancel()

    def tasks(self) -> list[asyncio.Task[None]]:
        return self._tasks + [s.task for s in self.stages if s.task is not None]

    async def _read(self) -> None:
        head = self.stages[0].input
        try:
            while True:
                data = await self._source.read(READ_SIZE)
                if not data:
                    break
                while head.full():
                    self._reader_poke.clear()
                    await self._reader_poke.wait()
                head.push(Chunk(data, asyncio.get_running_loop().time()))
        except OSError:
            pass  # a reset is an end of stream like any other
        finally:
            head.push(EOF)

    async def _write(self) -> None:
        broken = False
        try:
            while True:
                item = self.sink.pop()
                if item is None:
                    self._writer_poke.clear()
                    await self._writer_poke.wait()
                    continue
                if item is EOF:
                    break
                assert isinstance(item, Chunk)
                if broken:
                    continue  # keep draining so the stages never block on a dead socket
                try:
                    self._dest.write(item.data)
                    await self._dest.drain()
                except OSError:
                    broken = True
                    self._dest.close()  # tell the other direction now
        finally:
            self._dest.close()
            self.finished = True
            self._on_done()

    # --- live rewiring (callers serialise these per pipeline) --------------------------------

    def _index(self, name: str) -> int | None:
        for i, stage in enumerate(self.stages):
            if i > 0 and stage.name == name:
                return i
        return None

    async def add(self, spec: ToxicSpec) -> None:
        last = self.stages[-1]
        new = Stage(spec, Channel(spec.buffer_size), self._rng)
        self.stages.append(new)
        if await last.interrupt():
            new.output = last.output
            last.output = new.input
            if not self.dead:
                new.run()
                last.run()
        else:  # this direction has already ended; keep the chain shape consistent
            new.output = Channel(1)
            new.close()

    async def update(self, spec: ToxicSpec) -> None:
        i = self._index(spec.name)
        if i is None:
            return
        stage = self.stages[i]
        running = await stage.interrupt()
        stage.spec = spec
        if running and not self.dead:
            stage.run()

    async def remove(self, spec: ToxicSpec) -> None:
        i = self._index(spec.name)
        if i is None:
            return
        stage, prev = self.stages[i], self.stages[i - 1]
        del self.stages[i]
        if not await stage.interrupt():
            return  # already ended; the connection is closing
        if spec.closes_on_removal:
            stage.close()
            return
        prev_running = await prev.interrupt()
        while (item := stage.input.pop()) is not None:
            stage.output.push(item)
            if item is EOF:
                return
        prev.output = stage.output
        if prev_running and not self.dead:
            prev.run()


class Connection:
    """A client socket, its upstream socket and the two pipelines between them."""

    def __init__(
        self,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        chains: dict[str, list[ToxicSpec]],
        rng: random.Random,
        on_closed: Callable[[Connection], None],
    ) -> None:
        self._client = client
        self._upstream = upstream
        self._on_closed = on_closed
        self.closed = False
        if any(spec.resets_peer for chain in chains.values() for spec in chain):
            for _, writer in (client, upstream):
                _set_linger_zero(writer)
        self.pipelines = {
            "upstream": Pipeline(
                "upstream", chains["upstream"], client[0], upstream[1], rng, self._pipeline_done
            ),
            "downstream": Pipeline(
                "downstream", chains["downstream"], upstream[0], client[1], rng, self._pipeline_done
            ),
        }

    def start(self) -> None:
        for pipeline in self.pipelines.values():
            pipeline.start()

    def _pipeline_done(self) -> None:
        if all(p.finished for p in self.pipelines.values()) and not self.closed:
            self.closed = True
            for pipeline in self.pipelines.values():
                pipeline.cancel()
            self._on_closed(self)

    async def close(self) -> None:
        """Drop the connection now (proxy disabled, deleted or re-pointed)."""
        if self.closed:
            return
        self.closed = True
        for _, writer in (self._client, self._upstream):
            writer.transport.abort()
        tasks = [t for p in self.pipelines.values() for t in p.tasks()]
        for pipeline in self.pipelines.values():
            pipeline.cancel()
        if tasks:
            await asyncio.wait(tasks)
        self._on_closed(self)


def _set_linger_zero(writer: asyncio.StreamWriter) -> None:
    """Make the socket's close send RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
