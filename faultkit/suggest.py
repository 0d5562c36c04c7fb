"""``did you mean 'x'?`` for a mistyped name: one rule for every place a user names something.

Why one module: scenario names, fault types and fault fields are mistyped the same way
(``429-brust``, ``http_eror``, ``latncy_ms``), and each message should offer the same kind of
hint; a second copy of the threshold would drift.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

# difflib's ratio: 0.6 (its default) offers "latency_ms" for "latncy_ms" and "429-burst" for
# "429-brust", and nothing for an unrelated word.
CUTOFF = 0.6


def closest(word: object, choices: Iterable[str]) -> str | None:
    """The choice most like ``word``, if one is close enough to be a typo of it."""
    if not isinstance(word, str) or not word:
        return None
    matches = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=CUTOFF)
    return matches[0] if matches else None


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """``"did you mean 'x'? "`` to put before a list of the known names, or ``""``."""
    match = closest(word, choices)
    return f"did you mean {match!r}? " if match is not None else ""
