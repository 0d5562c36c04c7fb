"""Typed errors with messages a user can act on.

Every error a user can cause (a broken scenario, a corrupt cassette, an unknown fault, a request
with no recording) is one of these, so the CLI and the pytest plugin can print it in one line
and exit non-zero instead of showing a traceback.
"""

from __future__ import annotations

from faultkit.scrub import scrub_text, scrub_url


class FaultkitError(Exception):
    """Base class of every error faultkit raises on purpose."""


class ScenarioError(FaultkitError):
    """A scenario file or inline rule is invalid. ``problems`` lists each one, located."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class CassetteError(FaultkitError):
    """A cassette file cannot be read or written."""


class UnmatchedRequest(FaultkitError):
    """Replay found no recording for a request. Never answered from the network."""

    def __init__(self, method: str, url: str, closest: list[str], reason: str = "") -> None:
        # The message reaches test output, the ledger and logs: no key in a query string.
        self.method = method
        self.url = url = scrub_url(url)
        self.closest = closest = [scrub_text(c) for c in closest]
        detail = f" ({reason})" if reason else ""
        lines = [f"faultkit: no recording matches {method} {url}{detail}"]
        if closest:
            lines.append("closest recordings:")
            lines.extend(f"  {c}" for c in closest)
        else:
            lines.append("no recordings are loaded for this route")
        super().__init__("\n".join(lines))
