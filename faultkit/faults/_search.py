"""What every fault's hypothesis strategy shares: the bounds of a search and the building
blocks that make a strategy shrink towards the plainest case.

Each fault module builds its own strategy (``Fault.strategy``) from these. Only imported when a
strategy is built (hypothesis is a dev dependency), never by the fault registry.

Shrinking: hypothesis shrinks integers towards their lower bound and ``sampled_from`` /
``one_of`` towards their first choice. So every integer starts at 1 (or 0 for an index), every
list of choices is ordered from the plainest case to the most elaborate, and optional
parameters try "not set" first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from faultkit.errors import FaultkitError

SearchStrategy = st.SearchStrategy

DEFAULT_MAX_DELAY_MS = 2000
DEFAULT_MAX_RETRY_AFTER_S = 2
DEFAULT_MAX_EVENT = 8


@dataclass(frozen=True)
class Limits:
    """Bounds shared by the fault strategies: delays of at most ``max_delay_ms`` (2 s by
    default), retry-after hints of at most ``max_retry_after_s`` (2 s), event indices of at
    most ``max_event``, so a property test stays fast."""

    max_delay_ms: int = DEFAULT_MAX_DELAY_MS
    max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S
    max_event: int = DEFAULT_MAX_EVENT

    def __post_init__(self) -> None:
        if self.max_delay_ms < 1:
            raise FaultkitError(f"max_delay_ms must be at least 1, got {self.max_delay_ms}")
        if not self.max_retry_after_s >= 0.001:
            raise FaultkitError(
                f"max_retry_after_s must be at least 0.001, got {self.max_retry_after_s}"
            )
        if self.max_event < 0:
            raise FaultkitError(f"max_event must be 0 or more, got {self.max_event}")


def delays(max_ms: int) -> SearchStrategy[int]:
    return st.integers(1, max_ms)


def event_index(max_event: int) -> SearchStrategy[int]:
    return st.integers(0, max_event)


def optional(strategy: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """None first (shrinks to "not set"), then a value."""
    return st.one_of(st.none(), strategy)


@st.composite
def _whole(draw: st.DrawFn, strategy: SearchStrategy[Any]) -> Any:
    return draw(strategy)


def family(strategy: SearchStrategy[Any]) -> SearchStrategy[Any]:
    """``strategy`` as one choice of a ``one_of``. Hypothesis flattens nested ``one_of``s into
    one list of branches, so a fault with three variants would be tried three times as often
    as a fault with one; wrapped, every fault gets an equal share of the examples."""
    return _whole(strategy)
