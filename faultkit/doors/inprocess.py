"""The in-process door: an httpx transport that answers from the engine's plan.

Give it to any httpx client (``httpx.Client(transport=FaultkitTransport(engine))``), or to an
SDK through its ``http_client=`` argument, and every request is answered by replaying a
recording with the scenario's faults applied, timed like a real server: the head after any
planned delay, then each body chunk or SSE event lazily, as the client reads, never buffered.
A planned wait longer than the client's read timeout (``request.extensions["timeout"]``) raises
the client's own ``ReadTimeout`` after that timeout, as a socket read would; before the head
the read timeout applies too (the connection is open, the client is waiting for the head). A
planned reset raises the ``ReadError`` ("connection reset by peer") a reset socket gives, as
through the proxy, which sends a real TCP RST.

It is an ``httpx.BaseTransport`` subclass (not ``MockTransport``), so it composes with vcrpy,
which patches only httpx's own transports.

Modes:

- ``replay`` (default): answer from the engine's cassette store only; a request without a
  recording raises :class:`~faultkit.errors.UnmatchedRequest` and never reaches the network.
- ``record``: forward every request to ``upstream`` (default: the library's ``HTTPTransport``),
  stream the answer through to the client while timing its first byte and each SSE event, and
  hand it to ``store.record``. Faults still apply on top, with one trade-off: a fault edits a
  whole plan, so a request on which a fault fires is *buffered* (read to the end upstream, then
  replayed through the fault); a request with no fault passes through unbuffered.
- ``new_episodes``: replay when a recording matches, else record.
- ``passthrough``: forward and apply faults, save nothing.

The logic is written once and parameterised by the HTTP library module: these classes serve
``httpx``; :mod:`faultkit.doors.inprocess_httpx2` builds the same pair for ``httpx2``.
"""

from __future__ import annotations

import httpx

from faultkit.doors.inprocess_async import AsyncTransportBase
from faultkit.doors.inprocess_sync import SyncTransportBase


class FaultkitTransport(SyncTransportBase, httpx.BaseTransport):
    """Sync httpx transport that answers from a faultkit engine.

    ``FaultkitTransport(engine, route=None, mode="replay", upstream=None)``: ``route`` names the
    upstream for rule matching (default: from the host, ``api.openai.com`` -> ``openai``,
    ``api.anthropic.com`` -> ``anthropic``, else the host name); ``mode`` is one of replay,
    record, new_episodes, passthrough; ``upstream`` is the transport that reaches the real
    service when forwarding (default ``httpx.HTTPTransport()``).
    """

    _mod = httpx


class AsyncFaultkitTransport(AsyncTransportBase, httpx.AsyncBaseTransport):
    """Async httpx transport that answers from a faultkit engine; see FaultkitTransport."""

    _mod = httpx
