"""The HTTP fault proxy: one door (port) per upstream, answering through the shared engine.

Start it with ``faultkit proxy`` (see :mod:`.command`), point the SUT's base-URL environment
variables at the doors it prints, and it replays recordings (or forwards live traffic) with the
scenario's faults, streamed with their recorded timing. Control it at runtime through the
``/faultkit/...`` endpoints (:mod:`.control`) or per request with ``x-faultkit-*`` headers
(:mod:`.headers`).

Every module of the proxy logs to ``faultkit.proxy`` (and the Toxiproxy API to its own
loggers); their records are scrubbed (a request target's ``?api_key=``, a key an upstream's
error echoes) before any handler sees them.
"""

from __future__ import annotations

from faultkit.scrub.logs import scrub_faultkit_logs

from .config import DEFAULT_UPSTREAMS, Upstream, load_upstreams
from .proxy import Proxy

scrub_faultkit_logs()

__all__ = ["DEFAULT_UPSTREAMS", "Proxy", "Upstream", "load_upstreams"]
