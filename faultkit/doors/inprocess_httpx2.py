"""The in-process door for ``httpx2``: the same logic as the httpx door, on httpx2's types.

Kept in its own module so ``faultkit`` imports without httpx2 installed.
"""

from __future__ import annotations

import httpx2

from faultkit.doors.inprocess_async import AsyncTransportBase
from faultkit.doors.inprocess_sync import SyncTransportBase


class Httpx2FaultkitTransport(SyncTransportBase, httpx2.BaseTransport):
    """Sync httpx2 transport that answers from a faultkit engine; see FaultkitTransport."""

    _mod = httpx2


class AsyncHttpx2FaultkitTransport(AsyncTransportBase, httpx2.AsyncBaseTransport):
    """Async httpx2 transport that answers from a faultkit engine; see FaultkitTransport."""

    _mod = httpx2
