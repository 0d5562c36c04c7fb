"""``bandwidth``: limit a stream to ``rate`` KB/s (1 KB = 1000 bytes).

Each chunk waits ``len / (rate * 1000)`` s; the wait accumulates and carries timer overshoot
over to the next chunk, so the average rate holds. Chunks larger than 100 ms worth of data are
sent in 100 ms slices. ``rate == 0`` holds the stream until the toxic is removed (as Toxiproxy
does); a negative rate, which crashes Toxiproxy, passes data through unlimited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from faultkit.doors.toxiproxy.toxics.base import EOF, Chunk, Stub, TcpToxic, forward

SLICE_S = 0.1


@dataclass(frozen=True)
class Bandwidth(TcpToxic):
    type_name = "bandwidth"

    rate: int = 0  # KB/s

    async def pipe(self, stub: Stub) -> None:
        if self.rate < 0:
            await forward(stub)
            return
        owed = 0.0  # seconds still to wait, negative after an oversleep
        slice_bytes = self.rate * 100  # bytes per 100 ms
        while True:
            item = await stub.recv()
            if item is EOF:
                stub.close()
                return
            if self.rate == 0:
                await stub.sleep(math.inf)  # only an interrupt ends this
                await stub.send(item)
                return
            owed += len(item.data) / (self.rate * 1000)
            data = item.data
            while len(data) > slice_bytes:
                if not await stub.sleep(SLICE_S):
                    await stub.send(Chunk(data, item.timestamp))
                    return
                await stub.send(Chunk(data[:slice_bytes], item.timestamp))
                data = data[slice_bytes:]
                owed -= SLICE_S
            started = stub.now()
            if not await stub.sleep(owed):
                await stub.send(Chunk(data, item.timestamp))
                return
            owed -= stub.now() - started
            await stub.send(Chunk(data, item.timestamp))
