"""``limit_data``: forward at most ``bytes`` bytes in the stream, then close the connection.

The chunk that crosses the limit is truncated. The count is per connection and direction; it
survives updates and restarts and starts again from zero when the toxic is added again.
``bytes == 0`` forwards nothing and closes on the first data (not at connect).
"""

from __future__ import annotations

from dataclasses import dataclass

from faultkit.doors.toxiproxy.toxics.base import EOF, Chunk, Stub, TcpToxic


@dataclass
class Sent:
    bytes: int = 0


@dataclass(frozen=True)
class LimitData(TcpToxic):
    type_name = "limit_data"

    bytes: int = 0

    def new_state(self) -> Sent:
        return Sent()

    async def pipe(self, stub: Stub) -> None:
        sent: Sent = stub.state
        while True:
            item = await stub.recv()
            if item is EOF:
                stub.close()
                return
            remaining = self.bytes - sent.bytes
            if remaining > 0:
                data = item.data[:remaining]
                await stub.send(Chunk(data, item.timestamp))
                sent.bytes += len(data)
            if self.bytes - sent.bytes <= 0:
                stub.close()
                return
