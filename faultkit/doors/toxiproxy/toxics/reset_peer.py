"""``reset_peer``: drop the first input, wait ``timeout`` ms, then close the connection.

If the toxic was present when the connection was accepted, both sockets were given SO_LINGER 0
(``resets_peer``), so the close is a TCP RST: the client's read fails with ECONNRESET. Added to
an open connection it closes with a normal FIN, as Toxiproxy does. The wait is not
interruptible: the reset still happens if the chain changes meanwhile.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from faultkit.doors.toxiproxy.toxics.base import Stub, TcpToxic


@dataclass(frozen=True)
class ResetPeer(TcpToxic):
    type_name = "reset_peer"
    resets_peer = True

    timeout: int = 0  # ms

    async def pipe(self, stub: Stub) -> None:
        await stub.recv()  # a chunk or EOF, dropped either way
        if self.timeout > 0:
            await asyncio.sleep(self.timeout / 1000)
        stub.close()
