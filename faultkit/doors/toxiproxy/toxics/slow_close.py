"""``slow_close``: data passes unchanged; the close is passed on ``delay`` ms late."""

from __future__ import annotations

from dataclasses import dataclass

from faultkit.doors.toxiproxy.toxics.base import EOF, Stub, TcpToxic


@dataclass(frozen=True)
class SlowClose(TcpToxic):
    type_name = "slow_close"

    delay: int = 0  # ms

    async def pipe(self, stub: Stub) -> None:
        while True:
            item = await stub.recv()
            if item is EOF:
                # Interrupted during the delay, the toxic returns; EOF is sticky, so the
                # restarted toxic delays the close again.
                if await stub.sleep(self.delay / 1000):
                    stub.close()
                return
            await stub.send(item)
