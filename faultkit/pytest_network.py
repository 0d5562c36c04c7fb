"""``--faultkit-block-network``: a client that bypasses faultkit fails its test, named.

Why: faultkit's in-process door opens no socket, so during a faultkit test every outgoing
connection comes from a client faultkit did not build (an SDK the app constructs itself, a
``requests`` call in a tool). Without the guard such a client silently talks past faultkit
(or fails on a dead network) and the ledger is just empty. With it, the connection is refused
(an ``OSError``, as a dead network would be) and the test fails with the address, the client
libraries on the stack and the line of the project's code that called them, even when the
code under test swallowed the error.

What is patched, for the test's duration only and restored after (nesting with
pytest-recording's ``--block-network``, which patches the same methods): ``socket.socket.connect``
and ``connect_ex``, ``socket.create_connection`` and ``socket.getaddrinfo`` (so a host name is
named before any DNS traffic), and asyncio's ``BaseEventLoop.getaddrinfo`` (which resolves in a
worker thread, where the caller's stack is lost). asyncio connects through
``socket.socket.connect`` in the calling task; anyio connects in a child task, whose parent's
stack is looked up so the caller is still named. Event loops that do not connect through Python
sockets (uvloop) are not guarded.

Allowed: Unix sockets; resolving loopback names; faultkit's own forwarding in its record modes
(a frame of ``faultkit.doors`` on the stack); a faultkit proxy's doors on loopback, i.e. the
ports the project's upstreams declare (``faultkit.toml``) and those their environment variables
(``OPENAI_BASE_URL``, ...) point at; and the hosts given to ``--faultkit-allow-hosts``
(``host`` or ``host:port``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from faultkit.doors.proxy.config import DEFAULT_UPSTREAMS, Upstream
from faultkit.errors import FaultkitError
from faultkit.loopback import is_loopback


class NetworkBlocked(ConnectionRefusedError):
    """A connection refused by the guard: to the client, a network that is not there."""


@dataclass(frozen=True)
class Bypass:
    """One refused connection: where to, through which client libraries, from which line."""

    address: str
    client: str
    site: str

    def describe(self) -> str:
        return f"{self.address} by {self.client}, called from {self.site}"


_STDLIB_DIRS = tuple(
    str(Path(p).resolve())
    for p in {sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]}
)
_LIBRARY_MARKERS = ("site-packages", "dist-packages")
# Frames that are the harness, not the client or the caller.
_HARNESS = {
    "__main__",  # python -m pytest
    "faultkit",
    "_pytest",
    "pytest",
    "pluggy",
    "pytest_asyncio",
    "anyio",
    "sniffio",
}


def _top(frame: FrameType) -> str:
    return str(frame.f_globals.get("__name__", "?")).split(".")[0]


def _is_library(frame: FrameType) -> bool:
    filename = frame.f_code.co_filename
    if any(m in filename for m in _LIBRARY_MARKERS):
        return True
    top = _top(frame)
    return top in sys.stdlib_module_names or filename.startswith(_STDLIB_DIRS)


def _is_faultkit_door(frame: FrameType) -> bool:
    return str(frame.f_globals.get("__name__", "")).startswith("faultkit.doors")


def _stack(start: FrameType | None) -> list[FrameType]:
    frames: list[FrameType] = []
    while start is not None:
        frames.append(start)
        start = start.f_back
    return frames


def _in_task() -> bool:
    try:
        return asyncio.current_task() is not None
    except RuntimeError:  # no running loop in this thread
        return False


def _task_stack(start: FrameType | None) -> list[FrameType]:
    """The stack that asked for this connection, innermost first. In an asyncio task, the
    frames below the event loop belong to whoever runs the loop (the test runner), so they are
    cut, and the stack of the task that spawned this one follows (anyio connects in a child
    task while the caller waits in the parent)."""
    frames = _stack(start)
    if not _in_task():
        return frames
    for i, frame in enumerate(frames):
        if frame.f_code.co_name == "_run" and frame.f_globals.get("__name__") == "asyncio.events":
            frames = frames[:i]
            break
    return frames + _parent_task_frames()


def _parent_task_frames() -> list[FrameType]:
    """The suspended stack of the task that spawned this one (anyio connects in a child
    task of a task group; the caller waits in the parent). Empty outside such a task."""
    try:
        import anyio

        task = asyncio.current_task()
        if task is None:
            return []
        parent_id = anyio.get_current_task().parent_id
    except Exception:  # not in an anyio-aware asyncio task: nothing to add
        return []
    for other in asyncio.all_tasks():
        if id(other) == parent_id:
            return list(reversed(_await_chain(other.get_coro())))  # innermost first
    return []


def _await_chain(coro: Any) -> list[FrameType]:
    """Frames of a suspended coroutine and of everything it awaits, outermost first
    (``Task.get_stack`` gives only the outermost frame of a suspended task)."""
    frames: list[FrameType] = []
    while coro is not None:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "ag_frame", None)
        if frame is None:
            break
        frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "ag_await", None)
    return frames


def describe_caller(frames: list[FrameType]) -> tuple[str, str]:
    """(client libraries outermost first, the project's line that called them) from a stack,
    innermost frame first."""
    chain: list[str] = []
    for frame in reversed(frames):
        top = _top(frame)
        if (
            _is_library(frame)
            and top not in sys.stdlib_module_names
            and top not in _HARNESS
            and (not chain or chain[-1] != top)
        ):
            chain.append(top)
    site = "an unknown caller (no project frame on the stack)"
    for frame in frames:
        if not _is_library(frame) and _top(frame) not in _HARNESS:
            code = frame.f_code
            site = f"{_short(code.co_filename)}:{frame.f_lineno} in {code.co_name}"
            break
    client = " -> ".join(chain) if chain else "the standard library's socket"
    return client, site


def _short(filename: str) -> str:
    try:
        return os.path.relpath(filename)
    except ValueError:  # another drive on Windows
        return filename


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return True


def door_ports(
    upstreams: Iterable[Upstream] = DEFAULT_UPSTREAMS, env: Mapping[str, str] | None = None
) -> set[int]:
    """faultkit proxy doors: the ports the upstreams declare, and the loopback ports their
    variables point at now (read at each connection: a fixture may set them late)."""
    env = os.environ if env is None else env
    ports: set[int] = set()
    for upstream in upstreams:
        if upstream.port:
            ports.add(upstream.port)
        value = env.get(upstream.env or "")
        if not value:
            continue
        parts = urlsplit(value)
        if parts.hostname and is_loopback(parts.hostname):
            ports.add(parts.port or (443 if parts.scheme == "https" else 80))
    return ports


def parse_allowed(text: str | None) -> tuple[tuple[str, int | None], ...]:
    """``host[:port],...`` from ``--faultkit-allow-hosts`` (IPv6 as ``::1`` or ``[::1]:port``);
    anything else is a FaultkitError naming the item."""
    allowed: list[tuple[str, int | None]] = []
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        port: str | None = None
        if item.startswith("["):
            host, _, rest = item[1:].partition("]")
            if rest:
                port = rest[1:] if rest.startswith(":") else ""  # "" is refused below
        elif item.count(":") == 1:
            host, port = item.split(":")
        else:
            host = item  # a name, an IPv4 address or a bare IPv6 address
        if not host or (port is not None and not (port.isdigit() and 0 < int(port) < 65536)):
            raise FaultkitError(
                f"--faultkit-allow-hosts {text!r}: {item!r} is not HOST or HOST:PORT "
                "(a port from 1 to 65535; [::1]:PORT for IPv6)"
            )
        allowed.append((host, int(port) if port is not None else None))
    return tuple(allowed)


class NetworkGuard:
    """Refuses and remembers connections a faultkit test must not make; see the module doc."""

    def __init__(
        self,
        allowed: Iterable[tuple[str, int | None]] = (),
        upstreams: Iterable[Upstream] = DEFAULT_UPSTREAMS,
    ) -> None:
        self.allowed = tuple(allowed)
        self.upstreams = tuple(upstreams)
        self.bypasses: list[Bypass] = []
        self._lock = threading.Lock()

    # -- the decision -----------------------------------------------------------------------
    def permits(self, host: str, port: int | None, resolving: bool = False) -> bool:
        for allowed_host, allowed_port in self.allowed:
            if allowed_host == host and allowed_port in (None, port):
                return True
        if resolving:
            # Only names cost DNS traffic; an address literal is judged when it connects.
            return host in ("", "0.0.0.0", "::") or is_loopback(host) or _is_address(host)
        return is_loopback(host) and port in door_ports(self.upstreams)

    def check(self, host: Any, port: Any, resolving: bool = False) -> None:
        """Raise NetworkBlocked (and remember why) unless this connection is allowed."""
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        port_num = int(port) if isinstance(port, int) or str(port).isdigit() else None
        if self.permits(host_text, port_num, resolving):
            return
        frames = _task_stack(sys._getframe(2))
        if any(_is_faultkit_door(f) for f in frames):
            return
        client, site = describe_caller(frames)
        shown = f"[{host_text}]" if ":" in host_text else host_text
        bypass = Bypass(address=f"{shown}:{port}", client=client, site=site)
        with self._lock:
            self.bypasses.append(bypass)
        raise NetworkBlocked(
            f"faultkit --faultkit-block-network: connection to {bypass.address} refused: "
            "this client bypasses faultkit"
        )

    # -- the patches --------------------------------------------------------------------------
    @contextmanager
    def installed(self) -> Iterator[NetworkGuard]:
        """Patch the socket and asyncio entry points for the duration of the block."""
        saved: list[tuple[Any, str, Any]] = []

        def patch(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
            original = getattr(owner, name)
            saved.append((owner, name, original))
            setattr(owner, name, make(original))

        patch(socket.socket, "connect", self._connect)
        patch(socket.socket, "connect_ex", self._connect)
        patch(socket, "create_connection", self._create_connection)
        patch(socket, "getaddrinfo", self._getaddrinfo)
        patch(asyncio.base_events.BaseEventLoop, "getaddrinfo", self._loop_getaddrinfo)
        try:
            yield self
        finally:
            for owner, name, original in reversed(saved):
                setattr(owner, name, original)

    def _connect(self, original: Any) -> Any:
        guard = self

        def connect(sock: socket.socket, address: Any, *args: Any, **kwargs: Any) -> Any:
            if sock.family in (socket.AF_INET, socket.AF_INET6):
                guard.check(address[0], address[1])
            return original(sock, address, *args, **kwargs)

        return connect

    def _create_connection(self, original: Any) -> Any:
        guard = self

        def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
            guard.check(address[0], address[1])
            return original(address, *args, **kwargs)

        return create_connection

    def _getaddrinfo(self, original: Any) -> Any:
        guard = self

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host is not None:
                guard.check(host, port, resolving=True)
            return original(host, port, *args, **kwargs)

        return getaddrinfo

    def _loop_getaddrinfo(self, original: Any) -> Any:
        guard = self

        async def getaddrinfo(loop: Any, host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host is not None:
                guard.check(host, port, resolving=True)
            return await original(loop, host, port, *args, **kwargs)

        return getaddrinfo

    def report(self) -> str | None:
        """The test's failure text (None: no client bypassed faultkit)."""
        if not self.bypasses:
            return None
        unique = list(dict.fromkeys(self.bypasses))
        lines = [
            f"faultkit: {len(self.bypasses)} connection(s) bypassed faultkit "
            "(--faultkit-block-network): a client not built by faultkit tried the network"
        ]
        for bypass in unique:
            count = self.bypasses.count(bypass)
            lines.append(f"  {bypass.describe()}" + (f" (x{count})" if count > 1 else ""))
        lines.append(
            "give the SDK faultkit's client (http_client=faultkit.client()), or allow the host "
            "with --faultkit-allow-hosts"
        )
        return "\n".join(lines)


def project_upstreams(rootdir: Path) -> list[Upstream]:
    """The upstreams of the project's ``faultkit.toml`` (or ``[tool.faultkit]``) at pytest's
    rootdir, built-in ones included (a broken file raises ConfigError, naming it)."""
    from faultkit.config import find_config
    from faultkit.doors.proxy.config import load_upstreams

    return load_upstreams(find_config(rootdir))
