"""Ports for the apps the load tests start.

A port from ``bind(0)`` is released before the app binds it, and meanwhile the proxy, Locust
and other sessions' tests take ephemeral ports of their own with ``bind(0)``: the kernel may
hand out the very same one, and the app then dies with "address in use". Ports below the
kernel's ephemeral range are never handed out that way, so these are picked there.
"""

from __future__ import annotations

import contextlib
import random
import socket
from pathlib import Path


def _ephemeral_floor() -> int:
    with contextlib.suppress(OSError, ValueError):
        text = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text()
        return int(text.split()[0])
    return 32768


def free_ports(count: int = 1) -> int:
    """The first of ``count`` consecutive ports, all free now, below the ephemeral range."""
    top = _ephemeral_floor() - count
    for _ in range(200):
        first = random.randrange(20000, top)
        try:
            with contextlib.ExitStack() as stack:
                for offset in range(count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", first + offset))
        except OSError:
            continue
        return first
    raise AssertionError(f"no {count} consecutive free ports below {top}")
