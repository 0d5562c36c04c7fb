"""Doors: where traffic meets the engine. In-process (httpx/httpx2 transports) lives here.

``Httpx2FaultkitTransport`` and ``AsyncHttpx2FaultkitTransport`` are imported on first use, so
httpx2 stays optional.
"""

from __future__ import annotations

from typing import Any

from faultkit.doors.inprocess import AsyncFaultkitTransport, FaultkitTransport
from faultkit.doors.timeline import route_for_host

_HTTPX2 = ("Httpx2FaultkitTransport", "AsyncHttpx2FaultkitTransport")


def __getattr__(name: str) -> Any:
    if name in _HTTPX2:
        from faultkit.doors import inprocess_httpx2

        return getattr(inprocess_httpx2, name)
    raise AttributeError(f"module 'faultkit.doors' has no attribute {name!r}")


__all__ = [
    "AsyncFaultkitTransport",
    "AsyncHttpx2FaultkitTransport",
    "FaultkitTransport",
    "Httpx2FaultkitTransport",
    "route_for_host",
]
