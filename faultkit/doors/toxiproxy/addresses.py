"""``host:port`` strings as Toxiproxy reads them: split, resolve (IPv4 first), bind, render.

Toxiproxy stores a proxy's ``listen`` as the address it actually bound (``localhost:0`` becomes
``127.0.0.1:54321``) and compares candidate addresses after resolving them, so ``localhost:p``
equals ``127.0.0.1:p``. Error texts follow Go's ``net`` package, because clients show them.

One deliberate difference: a ``listen`` with no host (``""`` or ``:port``) binds the control
API's own host (127.0.0.1 unless the caller chose otherwise) instead of every interface, so
faultkit stays loopback-only unless asked.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket

from faultkit.loopback import is_loopback as is_loopback


class AddressError(Exception):
    """A listen address cannot be parsed, resolved or bound. ``str()`` is Go's error text."""


class BindError(AddressError):
    """Binding failed; ``reason`` is the OS error alone (``address already in use``)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def split_host_port(address: str) -> tuple[str, str]:
    """``host:port`` / ``[v6]:port`` → (host, port). Raises AddressError like Go's net."""
    if address.startswith("["):
        end = address.find("]")
        if end < 0:
            raise AddressError(f"address {address}: missing ']' in address")
        host, rest = address[1:end], address[end + 1 :]
        if not rest.startswith(":"):
            raise AddressError(f"address {address}: missing port in address")
        return host, rest[1:]
    if ":" not in address:
        raise AddressError(f"address {address}: missing port in address")
    host, port = address.rsplit(":", 1)
    if ":" in host:
        raise AddressError(f"address {address}: too many colons in address")
    return host, port


def parse_port(address: str, port: str) -> int:
    if port == "":
        return 0
    if port.isdigit():
        number = int(port)
        if number > 65535:
            raise AddressError(f"address {address}: invalid port")
        return number
    try:
        return socket.getservbyname(port, "tcp")
    except OSError:
        raise AddressError(f"lookup tcp/{port}: unknown port") from None


def render(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def resolve(address: str, default_host: str) -> tuple[str, int]:
    """Resolve a listen address to (IP, port), preferring IPv4 like Toxiproxy."""
    if address == "":
        return default_host, 0
    host, port_text = split_host_port(address)
    port = parse_port(address, port_text)
    if host == "":
        return default_host, port
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        raise AddressError(f"lookup {host}: no such host") from None
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    if not infos:
        raise AddressError(f"lookup {host}: no such host")
    return str(infos[0][4][0]), port


async def canonical(address: str, default_host: str) -> str:
    """The string a proxy would report after binding ``address`` (port 0 left as 0)."""
    return render(*await resolve(address, default_host))


def bind(host: str, port: int) -> socket.socket:
    """A listening, non-blocking socket. Raises AddressError with Go's ``listen tcp`` text."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # As Go does: a port left in TIME_WAIT by a disabled proxy can be bound again.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(512)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        reason = reason[:1].lower() + reason[1:]
        raise BindError(f"listen tcp {render(host, port)}: bind: {reason}", reason) from None
    return sock


def bound_address(sock: socket.socket) -> str:
    name = sock.getsockname()
    return render(name[0], name[1])
