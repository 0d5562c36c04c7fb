"""Whether a host is this machine: one rule for every place that keeps faultkit on loopback
(the proxy's binds and listeners, the control API's Host and Origin checks, ``faultkit load``'s
targets, pytest's network guard)."""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (a zone id allowed), ``localhost`` and names under ``.localhost``
    (RFC 6761 reserves them for loopback): addresses only this machine can reach."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False
