"""``slicer``: cut each chunk into pieces of about ``average_size`` bytes, ``delay`` µs apart.

A segment is kept whole when it exceeds ``average_size`` by at most ``size_variation``;
otherwise it is split near its middle (shifted by up to ``size_variation``) and both halves are
cut the same way. Values that crash Toxiproxy (``average_size <= 0``,
``size_variation >= average_size``) are clamped so every piece has at least one byte.
Interrupted between pieces, the rest of the chunk goes on as one piece.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from faultkit.doors.toxiproxy.toxics.base import EOF, Chunk, Stub, TcpToxic


@dataclass(frozen=True)
class Slicer(TcpToxic):
    type_name = "slicer"

    average_size: int = 0  # bytes
    size_variation: int = 0  # bytes
    delay: int = 0  # microseconds between pieces

    def cuts(self, length: int, rng: random.Random) -> list[tuple[int, int]]:
        """(start, end) of each piece of a ``length``-byte chunk, in order."""
        average = max(1, self.average_size)
        variation = min(max(0, self.size_variation), average - 1)
        pieces: list[tuple[int, int]] = []
        todo = [(0, length)]  # a stack, right half pushed first so pieces come out in order
        while todo:
            start, end = todo.pop()
            if (end - start) - average <= variation:
                pieces.append((start, end))
                continue
            mid = start + (end - start) // 2
            if variation > 0:
                mid += rng.randrange(-variation, variation)
            mid = min(max(mid, start + 1), end - 1)
            todo.append((mid, end))
            todo.append((start, mid))
        return pieces

    async def pipe(self, stub: Stub) -> None:
        while True:
            item = await stub.recv()
            if item is EOF:
                stub.close()
                return
            data = item.data
            for start, end in self.cuts(len(data), stub.rng):
                await stub.send(Chunk(data[start:end], item.timestamp))
                if not await stub.sleep(self.delay / 1_000_000):
                    if end < len(data):
                        await stub.send(Chunk(data[end:], item.timestamp))
                    return
