"""``noop``: passes data through unchanged. Accepted by the API like any toxic; no attributes."""

from __future__ import annotations

from dataclasses import dataclass

from faultkit.doors.toxiproxy.toxics.base import Stub, TcpToxic, forward


@dataclass(frozen=True)
class Noop(TcpToxic):
    type_name = "noop"

    async def pipe(self, stub: Stub) -> None:
        await forward(stub)
