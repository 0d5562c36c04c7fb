"""Who may drive the control API: a local test tool, never a web page or another host.

A fault proxy on a developer's machine is a target for any web page that machine opens: a
page can POST to ``http://127.0.0.1:8474`` (a "simple" cross-origin request needs no
preflight), and through DNS rebinding (``evil.example`` resolving to 127.0.0.1) it can even
read the replies. Toxiproxy only refuses ``Mozilla/`` user agents; this guard closes the rest,
in the HTTP layer, before any route runs:

- a ``Host`` that is not a loopback name or address is refused (DNS rebinding), unless the
  server was deliberately exposed (``--allow-remote``, or bound to a non-loopback address);
- an ``Origin`` that is not a loopback origin is refused, ``null`` included: test tools send
  no ``Origin``, browsers always send one with a POST;
- a state-changing request (any method but GET, HEAD, OPTIONS) with a body must declare it
  JSON (or YAML, for ``/faultkit/scenario``). None of these is a CORS-safelisted type, so a
  browser cannot send it without a preflight, and a preflight (OPTIONS) is never answered
  with CORS headers. A request with no body and no ``Content-Type`` passes: that is what
  toxiproxy-python's ``reset()`` and every ``DELETE`` send, and a browser's bodiless POST
  carries an ``Origin`` anyway.

Pure: it reads the method, a header lookup and the body size, and returns the refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from faultkit.doors.toxiproxy import addresses

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BODY_TYPES = frozenset(
    {"application/json", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"}
)


def _host_name(authority: str) -> str:
    """``host[:port]`` or ``[v6]:port`` -> the host alone (lower case)."""
    authority = authority.strip().lower()
    if authority.startswith("["):
        return authority[1 : authority.find("]")] if "]" in authority else authority
    return authority.rsplit(":", 1)[0] if authority.count(":") == 1 else authority


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def refusal(
    method: str,
    header: Callable[[str], str | None],
    body_size: int,
    *,
    any_host: bool = False,
) -> tuple[int, str] | None:
    """``(status, message)`` when the request must be refused, else None.

    ``any_host`` accepts every ``Host`` (the API was exposed on purpose); ``Origin`` and
    ``Content-Type`` are checked regardless."""
    host = header("host")
    if host is not None and not any_host and not addresses.is_loopback(_host_name(host)):
        return 403, f"Host {host!r} is not a loopback address; the control API is local only"
    origin = header("origin")
    if origin is not None:
        origin_host = urlsplit(origin.strip()).hostname or ""
        if not addresses.is_loopback(origin_host.lower()):
            return 403, f"Origin {origin!r} refused: the control API does not serve web pages"
    if method.upper() in SAFE_METHODS:
        return None
    content_type = header("content-type")
    if content_type is None and body_size == 0:
        return None
    media = _media_type(content_type or "")
    if media in BODY_TYPES or (media.startswith("application/") and media.endswith("+json")):
        return None
    shown = f"Content-Type {content_type!r}" if content_type is not None else "no Content-Type"
    return 415, f"{shown}: send the body as Content-Type: application/json (or application/yaml)"
