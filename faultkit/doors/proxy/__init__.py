"""The HTTP fault proxy: one door (port) per upstream, answering through the shared engine.

Start it with ``faultkit proxy`` (see :mod:`.command`), point the SUT's base-URL environment
variables at the doors it prints, and it replays recordings (or forwards live traffic) with the
scenario's faults, streamed with their recorded timing. Control it at runtime through the
``/faultkit/...`` endpoints (:mod:`.control`) or per request with ``x-faultkit-*`` headers
(:mod:`.headers`).
"""

from __future__ import annotations

from .config import DEFAULT_UPSTREAMS, Upstream, load_upstreams
from .proxy import Proxy

__all__ = ["DEFAULT_UPSTREAMS", "Proxy", "Upstream", "load_upstreams"]
