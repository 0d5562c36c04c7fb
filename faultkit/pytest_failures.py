"""What a faultkit test's failure says when a recording is missing: one screen, not a traceback.

Why: a request with no recording raises ``UnmatchedRequest`` deep inside the client; an SDK
retries it and wraps it (``openai.APIConnectionError``), so pytest shows some sixty lines of
httpx, SDK and engine frames before the one fact that matters, which cassette was expected and
how to record it. The plugin replaces such a failure with :func:`unmatched_message` and the
test's own line (:func:`where_raised`). Identical misses (an SDK's retries) are counted, not
repeated.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from faultkit.errors import UnmatchedRequest
from faultkit.session import FaultkitSession


def unmatched_message(session: FaultkitSession) -> str | None:
    """Every request of the test that had no recording, and where its cassette was expected."""
    entries = session.unmatched()
    if not entries:
        return None
    lines = [
        f"faultkit: {len(entries)} request(s) had no recording (replay never uses the network)"
    ]
    errors = Counter(e.error or f"no recording matches {e.method} {e.url}" for e in entries)
    for error, count in errors.items():
        lines.append("")
        lines.append(error + (f"\n(x{count}: the client retried)" if count > 1 else ""))
    default = session.default_cassette
    if default is not None and not session.cassettes:
        lines.append("")
        lines.append(
            f"no cassette loaded: expected {default}; record it with --faultkit-record-mode=once"
        )
    return "\n".join(lines)


def caused_by_unmatched(exc: BaseException | None) -> bool:
    """Whether ``exc`` is, or was raised from, a missing recording (an SDK wraps it)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, UnmatchedRequest):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def where_raised(item: pytest.Item, excinfo: Any) -> str:
    """``raised at <test file>:<line> in <function>: <exception type>``, the deepest frame of
    the test's own file (the test's call into the client)."""
    kind = type(excinfo.value)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    for entry in reversed(excinfo.traceback):
        if entry.path == item.path:
            return f"raised at {item.path.name}:{entry.lineno + 1} in {entry.name}: {name}"
    return f"raised: {name}"
