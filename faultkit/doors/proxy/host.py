"""What the door, the control routes and the Toxiproxy bridge need of the proxy that hosts them.

Each names only what it uses, as a protocol, instead of importing :class:`~.proxy.Proxy`: the
proxy builds its doors, routes and bridge, so their modules importing it back (even for type
hints only) made a cycle of four modules. ``Proxy`` satisfies all three structurally.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from faultkit.exchange import Request, Response

from .state import FaultState
from .upstream import Upstreams


class DoorHost(Protocol):
    """What a door reads per request: the fault state, the mode, the clock, the upstream
    client (None in replay) and where recordings go."""

    state: FaultState
    mode: str
    upstreams: Upstreams | None

    def now_ms(self, at: float | None = None) -> float: ...

    def record(self, route: str, request: Request, response: Response) -> None: ...


class Named(Protocol):
    route: str


class BridgeHost(Protocol):
    """What the Toxiproxy bridge needs: the doors' names and the fault state's runtime rules."""

    state: FaultState

    @property
    def doors(self) -> Sequence[Named]: ...


class ControlHost(Protocol):
    """What ``/faultkit/...`` answers from: the fault state, the doors, and a reset."""

    state: FaultState

    def describe(self) -> dict[str, Any]: ...

    def reset(self) -> None: ...


__all__ = ["BridgeHost", "ControlHost", "DoorHost"]
