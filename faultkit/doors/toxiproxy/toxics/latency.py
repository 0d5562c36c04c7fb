"""``latency``: deliver each chunk ``latency`` ms (± ``jitter`` ms) after it was read.

The delay counts from the chunk's arrival, so a chunk that already waited behind another only
sleeps the remainder: the stream is delayed, its throughput is not limited (the input buffers
1024 chunks). Chained latency toxics add up because each one advances the chunk's timestamp by
the time it slept. Interrupted mid-sleep, the held chunk goes on without the remaining delay.
"""

from __future__ import annotations

from dataclasses import dataclass

from faultkit.doors.toxiproxy.toxics.base import EOF, Stub, TcpToxic


@dataclass(frozen=True)
class Latency(TcpToxic):
    type_name = "latency"
    buffer_size = 1024

    latency: int = 0  # ms
    jitter: int = 0  # ms, uniform in [-jitter, +jitter)

    def _delay_s(self, stub: Stub) -> float:
        delay_ms = self.latency
        if self.jitter > 0:
            delay_ms += stub.rng.randrange(-self.jitter, self.jitter)
        return delay_ms / 1000

    async def pipe(self, stub: Stub) -> None:
        while True:
            item = await stub.recv()
            if item is EOF:
                stub.close()
                return
            wait = self._delay_s(stub) - (stub.now() - item.timestamp)
            if wait > 0:
                if not await stub.sleep(wait):
                    await stub.send(item)
                    return
                item = item.delayed(wait)
            await stub.send(item)
