"""``timeout``: drop all data in the stream; close the connection after ``timeout`` ms of quiet.

The timer starts when the toxic starts on the connection and restarts on every dropped chunk.
``timeout == 0`` never closes: data is dropped until the toxic is removed. Removing the toxic
closes the connections it was on (``closes_on_removal``), as Toxiproxy does, because the peer
has lost data and the stream can no longer be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass

from faultkit.doors.toxiproxy.toxics.base import EOF, Stub, TcpToxic


@dataclass(frozen=True)
class Timeout(TcpToxic):
    type_name = "timeout"
    closes_on_removal = True

    timeout: int = 0  # ms

    async def pipe(self, stub: Stub) -> None:
        while True:
            if self.timeout > 0:
                item = await stub.recv_within(self.timeout / 1000)
            else:
                item = await stub.recv()
            if item is None or item is EOF:
                stub.close()
                return
            # Dropped on the floor.
