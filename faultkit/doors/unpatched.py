"""httpx's own transports, reached underneath vcrpy's patches.

Why: while a vcrpy cassette is active (pytest-recording's ``@pytest.mark.vcr``), vcrpy replaces
``HTTPTransport.handle_request`` on the class, so faultkit's forwarding in its record modes
would be answered or recorded a second time by vcrpy, into the same cassette file. The
in-process doors build their upstream with :func:`unpatched_transport`, so each request has one
handler and one recording (faultkit's, scrubbed).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any


def _is_vcrpy(fn: Any) -> bool:
    # functools.wraps copies __module__, so the code object tells where the wrapper lives.
    code = getattr(fn, "__code__", None)
    return code is not None and Path(code.co_filename).parent.parent.name == "vcr"


@cache
def _unpatched_class(mod: Any, name: str) -> Any:
    """``mod.<name>()`` (``httpx.HTTPTransport`` and the like) that reaches the network even
    while a vcrpy cassette patches that class: faultkit's own forwarding must not be answered
    or recorded a second time by vcrpy.

    vcrpy replaces ``handle_request``/``handle_async_request`` on the class with a wrapper
    (``functools.wraps``, so ``__wrapped__`` is the original); this subclass calls the method
    found under vcrpy's wrappers only, leaving any other instrumentation in place.
    """
    base = getattr(mod, name)
    method = "handle_async_request" if "Async" in name else "handle_request"

    def original() -> Any:
        fn = getattr(base, method)
        while _is_vcrpy(fn) and hasattr(fn, "__wrapped__"):
            fn = fn.__wrapped__
        return fn

    if method == "handle_async_request":

        async def handle(self: Any, request: Any) -> Any:
            return await original()(self, request)

    else:

        def handle(self: Any, request: Any) -> Any:
            return original()(self, request)

    return type(f"Unpatched{name}", (base,), {method: handle})


def unpatched_transport(mod: Any, name: str) -> Any:
    """A new ``mod.<name>`` transport that vcrpy's patches do not intercept."""
    return _unpatched_class(mod, name)()
