"""The TCP toxics, registered by their Toxiproxy type name. Adding one = one module + one line.

``down`` is not a toxic: it is the proxy's ``enabled: false`` (see ``proxies.py``).
"""

from __future__ import annotations

from faultkit.doors.toxiproxy.toxics.bandwidth import Bandwidth
from faultkit.doors.toxiproxy.toxics.base import EOF, Chunk, Interrupted, Stub, TcpToxic
from faultkit.doors.toxiproxy.toxics.latency import Latency
from faultkit.doors.toxiproxy.toxics.limit_data import LimitData
from faultkit.doors.toxiproxy.toxics.noop import Noop
from faultkit.doors.toxiproxy.toxics.reset_peer import ResetPeer
from faultkit.doors.toxiproxy.toxics.slicer import Slicer
from faultkit.doors.toxiproxy.toxics.slow_close import SlowClose
from faultkit.doors.toxiproxy.toxics.timeout import Timeout

TCP_TOXICS: dict[str, type[TcpToxic]] = {
    cls.type_name: cls
    for cls in (Latency, Bandwidth, SlowClose, Timeout, ResetPeer, Slicer, LimitData, Noop)
}

__all__ = ["EOF", "TCP_TOXICS", "Chunk", "Interrupted", "Stub", "TcpToxic"]
