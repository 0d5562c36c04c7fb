"""The runner's user-facing error: a bad target, a missing or invalid file, a bad option."""

from __future__ import annotations

from faultkit.errors import FaultkitError


class RunError(FaultkitError):
    """Something the user gave ``faultkit run`` cannot be used; the message says what and how
    to fix it, in one line (the CLI prints it and exits with 2)."""
