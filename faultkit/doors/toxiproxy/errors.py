"""Errors of the Toxiproxy-compatible door.

``ApiError`` is the control API's own vocabulary (status + the exact Toxiproxy error text); it
never leaves the server. The ``FaultkitError`` subclasses are what a user of faultkit sees.
"""

from __future__ import annotations

from faultkit.errors import FaultkitError


class ApiError(Exception):
    """An error reply: ``{"error": message, "status": status}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ControlApiBindError(FaultkitError):
    """The control API cannot listen on its address (usually: the port is in use)."""

    def __init__(self, host: str, port: int, reason: str) -> None:
        self.host = host
        self.port = port
        self.reason = reason
        address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        super().__init__(
            f"cannot start the Toxiproxy control API on {address}: {reason}"
            " (is another Toxiproxy or faultkit proxy running? stop it or choose another port)"
        )


class TcpFrontError(FaultkitError):
    """A door's TCP front cannot listen on its declared port (usually: the port is in use)."""


class ToxicRejected(FaultkitError):
    """Raised by a toxic bridge when it refuses a toxic's attributes; the API answers 400."""


class RemoteToxiproxyError(FaultkitError):
    """A remote Toxiproxy server refused a request or cannot be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
